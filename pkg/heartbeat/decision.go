package heartbeat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/streamjson"
)

// Decision is the decision tier's answer.
type Decision struct {
	Act    bool   `json:"act"`
	Reason string `json:"reason"`
	Prompt string `json:"prompt,omitempty"`
	// Malformed says what was wrong with an answer that was not the JSON
	// asked for; Raw holds the start of that answer.
	Malformed string `json:"malformed,omitempty"`
	Raw       string `json:"raw,omitempty"`
}

// DecisionSystemPrompt replaces claude's own system prompt in the decision
// run: short, so the decision costs a few hundred input tokens.
const DecisionSystemPrompt = `You are the decision step of ce's heartbeat, a periodic check that runs while nobody is watching. You have no tools. You read a checklist and the output of check commands, and decide whether an agent should act now. Acting costs time and money: act only when something needs doing now, not to report that all is well, and not again for something a recent action already handles. Answer with exactly one JSON object and nothing else: {"act": true or false, "reason": "one short sentence", "prompt": "when act is true: the complete, self-contained task for the agent, which has tools and a session of its own but not this context; else empty"}`

// decisionFlags follow the command and precede nothing: the prompt goes on
// stdin, so a long checklist never meets the argument size limit.
func decisionArgv(command, model string) []string {
	return []string{command, "-p", "--output-format", "stream-json", "--verbose",
		"--model", model, "--tools", "", "--max-turns", "1", "--strict-mcp-config",
		"--system-prompt", DecisionSystemPrompt, "--no-session-persistence", "--disable-slash-commands"}
}

// DecisionRetries is how often claude retries a failed API request in the
// decision run, unless the environment (or agent.env) says otherwise:
// claude's default retries an authentication error for minutes, past the
// decision's timeout, and the next beat retries anyway.
const DecisionRetries = "2"

func decisionEnv(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "CLAUDE_CODE_MAX_RETRIES=") {
			return env
		}
	}
	return append(env, "CLAUDE_CODE_MAX_RETRIES="+DecisionRetries)
}

// ParseDecision reads the model's answer: one JSON object, possibly in a
// code fence or with words around it. act is required, and an answer that
// acts must say what to do.
func ParseDecision(text string) (Decision, error) {
	s := strings.TrimSpace(text)
	i, j := strings.Index(s, "{"), strings.LastIndex(s, "}")
	if i < 0 || j < i {
		return Decision{}, errors.New("no JSON object in the answer")
	}
	var w struct {
		Act    *bool   `json:"act"`
		Reason *string `json:"reason"`
		Prompt *string `json:"prompt"`
	}
	dec := json.NewDecoder(strings.NewReader(s[i : j+1]))
	if err := dec.Decode(&w); err != nil {
		return Decision{}, fmt.Errorf("the answer is not valid JSON: %v", err)
	}
	if dec.More() {
		return Decision{}, errors.New("the answer holds more than one JSON object")
	}
	if w.Act == nil {
		return Decision{}, errors.New(`the answer has no boolean "act"`)
	}
	d := Decision{Act: *w.Act}
	if w.Reason != nil {
		d.Reason = strings.TrimSpace(*w.Reason)
	}
	if w.Prompt != nil {
		d.Prompt = strings.TrimSpace(*w.Prompt)
	}
	if d.Act && d.Prompt == "" {
		return Decision{}, errors.New(`the answer acts but its "prompt" is empty`)
	}
	return d, nil
}

// decisionRun is how the decision run ended.
type decisionRun struct {
	result    *streamjson.Result
	rateLimit *streamjson.RateLimit
	err       error // no result: the reason
}

// decide runs the tool-less claude with prompt on stdin.
func (e *Engine) decide(ctx context.Context, prompt, dir string) decisionRun {
	cfg := e.Config()
	hb := cfg.Heartbeat
	argv := decisionArgv(cfg.Agent.Command, hb.DecisionModel)
	timeout := time.Duration(hb.DecisionTimeout)
	r := runCommand(ctx, argv, prompt, dir, decisionEnv(e.childEnv()), timeout, 4<<20)
	var out decisionRun
	sc := bufio.NewScanner(bytes.NewReader(r.stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		ev, err := streamjson.Parse(sc.Bytes())
		if err != nil {
			continue
		}
		if rl, ok := ev.RateLimit(); ok {
			out.rateLimit = rl
		}
		if res, ok := ev.Result(); ok {
			out.result = res
		}
	}
	switch {
	case r.timedOut:
		out.err = fmt.Errorf("the decision run timed out after %s (heartbeat.decision_timeout)", timeout)
	case r.err != nil && ctx.Err() != nil:
		out.err = ctx.Err()
	case r.err != nil:
		out.err = fmt.Errorf("cannot run %s: %v (check agent.command)", argv[0], r.err)
	case out.result == nil:
		out.err = fmt.Errorf("%s exited with status %d without a result%s", argv[0], r.exit, lastLine(r.stderr))
	}
	return out
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return ": " + oneLine(lines[len(lines)-1], 300)
}

// decisionPrompt is what the decision reads: the time, recent actions, the
// checklist and the fired gates' output, then the contract.
func decisionPrompt(now time.Time, loc *time.Location, in Instructions, gates []GateResult, recent []Beat, st State, dailyCap int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Now: %s.\n", now.In(loc).Format("Monday 2006-01-02 15:04 MST"))
	switch {
	case dailyCap > 0:
		fmt.Fprintf(&b, "Actions today: %d of at most %d.\n", st.DayActions, dailyCap)
	default:
		fmt.Fprintf(&b, "Actions today: %d.\n", st.DayActions)
	}
	var acts []string
	for _, r := range recent {
		if r.Item == "" || r.DryRun {
			continue
		}
		state := r.ItemState
		if state == "" {
			state = "not finished"
		}
		reason := ""
		if r.Decision != nil {
			reason = r.Decision.Reason
		}
		acts = append(acts, fmt.Sprintf("- %s: %s (%s)", r.Time.In(loc).Format("2006-01-02 15:04"), oneLine(reason, 200), state))
		if len(acts) == 3 {
			break
		}
	}
	if len(acts) > 0 {
		b.WriteString("Recent actions, newest first:\n" + strings.Join(acts, "\n") + "\n")
	} else {
		b.WriteString("Recent actions: none.\n")
	}
	if in.State == "ok" {
		fmt.Fprintf(&b, "\n<checklist file=%q>\n%s\n</checklist>\n", in.Path, strings.TrimSpace(in.Text))
		if in.Cut {
			fmt.Fprintf(&b, "(the checklist was cut at %d bytes)\n", MaxInstructions)
		}
	}
	for _, g := range gates {
		if !g.Fired {
			continue
		}
		fmt.Fprintf(&b, "\n<check command=%q exit=\"0\">\n%s\n</check>\n", g.Command, strings.TrimSpace(g.Output))
	}
	b.WriteString("\nDecide whether something above needs doing now. Answer with one JSON object and nothing else:\n" +
		`{"act": false, "reason": "<one short sentence>", "prompt": ""}` + "\nor, when something needs doing:\n" +
		`{"act": true, "reason": "<one short sentence>", "prompt": "<the complete task for the agent>"}` + "\n")
	return b.String()
}

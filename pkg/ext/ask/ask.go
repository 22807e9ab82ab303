// Package ask is the "ask" extension (MCP server ce_ask): its ask_user tool
// puts a question to the user and blocks the tool call until the user
// answers, with `ce-session answer ID TEXT` or in Telegram, or the timeout
// passes. The question is a pending request in <state>/pending.db, so the
// wait survives the restart of every daemon and needs no broker.
//
// The package also holds what every kind of pending request shares: the
// ask.created, ask.answered and ask.closed events (Announce, Answered,
// Closed) and the wait that wakes on them or on the file (Wait). Whoever
// resolves a request calls Answered. The topics are a contract; the rest
// is implementation.
package ask

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/pending"
)

// Name is the extension's name in config.
const Name = "ask"

// Timeouts of ask_user.
const (
	DefaultTimeout = 10 * time.Minute
	MaxTimeout     = 24 * time.Hour
)

// timeoutMargin is added to MaxTimeout for the MCP server's timeout, so
// claude never cuts off a call that is still waiting legitimately.
const timeoutMargin = 5 * time.Minute

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_ask.
const Prompt = `You can ask the user a question with the ask_user tool (server ce_ask). The call blocks until the user answers (in Telegram, or in a shell with "ce-session answer") or its timeout passes, so the user may be away: use it only when you cannot reasonably go on without them, for example a decision between approaches with real trade-offs, missing access or credentials, an ambiguous request, or before something hard to undo (deleting data, force-pushing, deploying, spending money). Do not ask about what you can find out yourself, and do not ask for routine confirmation. Make the question short and complete on its own (the user may read it on a phone, without your context); when the answer is one of a few options, pass them as choices. If no answer comes in time, carry on with the safest reasonable choice and say what you assumed.`

// New returns the ask extension.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Ask the user a question and wait for the answer (ce-session answer, Telegram).",
		Prompt:      Prompt,
		Timeout:     MaxTimeout + timeoutMargin,
		Tools: []ext.Tool{{
			Name: "ask_user",
			Description: "Ask the user a question and wait for the answer. The call blocks until the user answers " +
				"(in Telegram, or in a shell with `ce-session answer ID TEXT`) or the timeout passes " +
				"(default 10 minutes, at most 24 hours). With choices the user picks one, by its text or its number, " +
				"but may also answer in their own words. Returns the answer, or a note that no answer came in time.",
			Schema: ext.Schema(map[string]any{
				"question": ext.Prop("string", "The question, short and complete on its own: the user may not see your context."),
				"choices": map[string]any{
					"type":        "array",
					"items":       map[string]any{"type": "string"},
					"maxItems":    pending.MaxChoices,
					"description": "Optional answers to pick from (at most 10), e.g. [\"yes\", \"no\"].",
				},
				"timeout": ext.Prop("number", "Optional: how many seconds to wait for the answer (default 600, at most 86400)."),
			}, "question"),
			Handler: askUser,
		}},
	}
}

func askUser(ctx context.Context, c ext.Call) ext.Result {
	if c.Env.State == nil {
		return ext.Errorf("ask_user has no state directory (CE_STATE_DIR is not set)")
	}
	question, err := c.RequireString("question")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	choices, err := ext.StringList(c.Args["choices"], "choices")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	timeout, err := Timeout(c, DefaultTimeout, MaxTimeout)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	ps := pending.Open(c.Env.State)
	req, err := ps.Create(ctx, pending.Request{
		Kind:     pending.KindAskUser,
		Session:  c.Env.Session,
		Question: strings.TrimSpace(question),
		Choices:  choices,
		Expires:  time.Now().Add(timeout),
	})
	if err != nil {
		return ext.Errorf("the question was not asked: %v", err)
	}
	Announce(ctx, c.Env, req)
	got, err := Wait(ctx, c.Env, ps, req.ID)
	if err != nil {
		if ctx.Err() != nil {
			Withdraw(c.Env, ps, req.ID, "the ask_user call ended before an answer came")
			return ext.Errorf("stopped waiting for the answer to question %s: the call was cancelled", req.ID)
		}
		return ext.Errorf("waiting for the answer to question %s failed: %v", req.ID, err)
	}
	switch got.State {
	case pending.StateAnswered:
		return ext.Result{Text: "The user answered: " + got.Answer}
	case pending.StateExpired:
		Closed(ctx, c.Env, got)
		return ext.Result{Text: fmt.Sprintf("no answer within %s (question %s expired). Carry on with the safest reasonable choice and say what you assumed, or ask again later.", timeout, req.ID)}
	default:
		return ext.Result{Text: fmt.Sprintf("question %s was withdrawn before an answer came (%s)", req.ID, got.AnsweredBy)}
	}
}

// Timeout reads the optional "timeout" argument (seconds, or a duration
// string): def when absent, an error when not positive or over most.
func Timeout(c ext.Call, def, most time.Duration) (time.Duration, error) {
	d, err := c.Duration("timeout", def)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("argument \"timeout\" must be positive (seconds to wait; default %d)", int(def.Seconds()))
	}
	if d > most {
		return 0, fmt.Errorf("argument \"timeout\" is %s; at most %s (%d seconds) is allowed", d, most, int(most.Seconds()))
	}
	return d, nil
}

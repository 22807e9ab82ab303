// Package instantagent is a stand-in for the claude CLI that answers at once,
// so benchmarks of ce measure ce's own overhead rather than claude's start-up
// and the API, and tests can provoke slow turns, failures and rate limits on
// demand.
//
// It accepts claude's command line (unknown flags are ignored, unlike the
// real claude) and prints stream-json events shaped like claude 2.1.328's:
// system/init, one assistant message with text "ECHO: <prompt>", and a
// result. With --input-format stream-json it answers each user line on stdin
// until EOF, printing system/init before every turn as the real claude does.
//
// Prompts can steer it:
//
//   - SLEEP:<seconds> waits that long before answering (stop and kill tests).
//   - FAIL: answers like an API error: an is_error result.
//   - RATELIMIT:<unix seconds> sends a rejected rate_limit_event resetting
//     then, and an is_error "You've hit your session limit" result; once
//     that time has passed, the prompt is answered as usual.
//
// Like the real claude, the exit status is 1 when the last result was an
// error, and a failed turn does not end a stream-json session.
//
// This package is test support inside ce; other programs should not rely on
// it.
package instantagent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
)

// StampEnv, when set, makes every event carry "emitted_unix_ns": the
// moment it was printed, for latency benchmarks.
const StampEnv = "INSTANT_AGENT_STAMP"

// CostPerTurn is the total_cost_usd each answered turn adds; results carry
// the running total of the process, as claude's do.
const CostPerTurn = 0.0001

// DefaultModel is reported when no --model is given.
const DefaultModel = "claude-opus-5-5"

// Main runs the agent and returns its exit status: 0, or 1 for a failed last
// turn or bad usage (claude has no separate usage status).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	a := &agent{opts: opts, out: stdout, start: time.Now()}
	a.sessionID = opts.sessionID
	if a.sessionID == "" {
		a.sessionID = opts.resume
	}
	if a.sessionID == "" {
		a.sessionID = uuid.NewString()
	}
	a.cwd, _ = os.Getwd()

	if opts.inputFormat == "stream-json" {
		return a.streamInput(stdin, stderr)
	}
	prompt := opts.prompt
	if !opts.hasPrompt {
		b, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "Error: reading stdin: %v\n", err)
			return 1
		}
		prompt = strings.TrimRight(string(b), "\n")
	}
	if strings.TrimSpace(prompt) == "" {
		fmt.Fprintln(stderr, "Error: Input must be provided either through stdin or as a prompt argument when using --print")
		return 1
	}
	if a.turn(prompt) {
		return 1
	}
	return 0
}

// streamInput answers user lines until EOF; other line types are skipped as
// claude skips them.
func (a *agent) streamInput(stdin io.Reader, stderr io.Writer) int {
	failed := false
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var in struct {
			Type    string `json:"type"`
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		}
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			fmt.Fprintf(stderr, "Error parsing streaming input line (%d chars): %v\n", len(line), err)
			return 1
		}
		if in.Type != "user" {
			continue
		}
		failed = a.turn(contentText(in.Message.Content))
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "Error: reading stdin: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// contentText flattens a message content, a string or an array of blocks,
// to its text.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &blocks) // anything else has no text
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n")
}

type agent struct {
	opts      options
	out       io.Writer
	start     time.Time
	sessionID string
	cwd       string
	cost      float64
	turns     int
}

// turn prints one turn's events and reports whether it failed.
func (a *agent) turn(prompt string) (failed bool) {
	began := time.Now()
	a.emitInit()
	if d, ok := sleepFor(prompt); ok {
		time.Sleep(d)
	}
	index := a.turns
	a.turns++
	in := 3 + len(prompt)/4

	switch {
	case strings.Contains(prompt, "RATELIMIT:") && unixAfter(prompt, "RATELIMIT:") > time.Now().Unix():
		resets := unixAfter(prompt, "RATELIMIT:")
		a.emit(map[string]any{
			"type": "rate_limit_event",
			"rate_limit_info": map[string]any{
				"status":         "rejected",
				"resetsAt":       resets,
				"rateLimitType":  "five_hour",
				"overageStatus":  "rejected",
				"isUsingOverage": false,
			},
			"session_id": a.sessionID,
			"uuid":       uuid.NewString(),
		})
		text := "You've hit your session limit · resets " + time.Unix(resets, 0).UTC().Format("Jan 2, 3:04pm (MST)")
		a.apiError(began, index, text, 429, "rate_limit")
		return true
	case strings.Contains(prompt, "FAIL:"):
		a.apiError(began, index, "API Error: 500 instant-agent failure: "+prompt, 500, "unknown")
		return true
	}

	text := "ECHO: " + prompt
	out := 1 + len(text)/4
	a.cost += CostPerTurn
	a.emit(map[string]any{
		"type": "assistant",
		"message": map[string]any{
			"id":                 "msg_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
			"type":               "message",
			"role":               "assistant",
			"model":              a.model(),
			"content":            []any{map[string]any{"type": "text", "text": text}},
			"stop_reason":        nil,
			"stop_sequence":      nil,
			"usage":              map[string]any{"input_tokens": in, "output_tokens": out},
			"context_management": nil,
		},
		"parent_tool_use_id": nil,
		"session_id":         a.sessionID,
		"uuid":               uuid.NewString(),
		"timestamp":          timestamp(),
	})
	a.emitResult(began, index, text, false, nil, "end_turn", "completed", in, out)
	return false
}

// apiError prints what claude prints when the API refuses a turn (fixture
// 07): a synthetic assistant message and an is_error result.
func (a *agent) apiError(began time.Time, index int, text string, status int, kind string) {
	a.emit(map[string]any{
		"type": "assistant",
		"message": map[string]any{
			"id":            uuid.NewString(),
			"type":          "message",
			"role":          "assistant",
			"model":         "<synthetic>",
			"content":       []any{map[string]any{"type": "text", "text": text}},
			"stop_reason":   "stop_sequence",
			"stop_sequence": "",
			"usage":         map[string]any{"input_tokens": 0, "output_tokens": 0},
		},
		"parent_tool_use_id":   nil,
		"session_id":           a.sessionID,
		"uuid":                 uuid.NewString(),
		"timestamp":            timestamp(),
		"error":                kind,
		"is_api_error_message": true,
		"api_error_status":     status,
	})
	a.emitResult(began, index, text, true, status, "stop_sequence", "api_error", 0, 0)
}

func (a *agent) emitResult(began time.Time, index int, text string, isError bool, apiStatus any,
	stopReason, terminal string, in, out int) {
	dur := time.Since(began).Milliseconds()
	usage := map[string]any{
		"input_tokens":                in,
		"cache_creation_input_tokens": 0,
		"cache_read_input_tokens":     0,
		"output_tokens":               out,
		"service_tier":                "standard",
	}
	modelUsage := map[string]any{}
	if !isError {
		modelUsage[a.model()] = map[string]any{
			"inputTokens":              in,
			"outputTokens":             out,
			"cacheReadInputTokens":     0,
			"cacheCreationInputTokens": 0,
			"webSearchRequests":        0,
			"costUSD":                  CostPerTurn,
			"contextWindow":            1000000,
			"maxOutputTokens":          128000,
		}
	}
	if a.format() == "text" {
		fmt.Fprintln(a.out, text)
		return
	}
	a.emit(map[string]any{
		"type":               "result",
		"subtype":            "success",
		"is_error":           isError,
		"duration_ms":        dur,
		"duration_api_ms":    dur,
		"num_turns":          1,
		"result":             text,
		"stop_reason":        stopReason,
		"session_id":         a.sessionID,
		"total_cost_usd":     a.cost,
		"usage":              usage,
		"modelUsage":         modelUsage,
		"permission_denials": []any{},
		"terminal_reason":    terminal,
		"api_error_status":   apiStatus,
		"uuid":               uuid.NewString(),
		"result_index":       index,
	})
}

func (a *agent) emitInit() {
	servers := []any{}
	for _, name := range a.opts.mcpServers() {
		servers = append(servers, map[string]any{"name": name, "status": "connected"})
	}
	a.emit(map[string]any{
		"type":                "system",
		"subtype":             "init",
		"cwd":                 a.cwd,
		"session_id":          a.sessionID,
		"tools":               a.opts.tools(),
		"mcp_servers":         servers,
		"model":               a.model(),
		"permissionMode":      a.opts.permissionMode,
		"slash_commands":      []any{},
		"apiKeySource":        "none",
		"claude_code_version": claudebin.Version,
		"output_style":        "default",
		"agents":              []any{},
		"skills":              []any{},
		"plugins":             []any{},
		"uuid":                uuid.NewString(),
	})
}

// emit prints one stream-json line; other output formats show only the
// result, as claude's do.
func (a *agent) emit(event map[string]any) {
	switch a.format() {
	case "stream-json":
	case "json":
		if event["type"] != "result" {
			return
		}
	default:
		return
	}
	if os.Getenv(StampEnv) != "" {
		event["emitted_unix_ns"] = time.Now().UnixNano()
	}
	b, err := json.Marshal(event)
	if err != nil {
		panic(err) // the events are built from plain values above
	}
	_, _ = a.out.Write(append(b, '\n'))
}

func (a *agent) format() string { return a.opts.outputFormat }

func (a *agent) model() string {
	if a.opts.model != "" {
		return a.opts.model
	}
	return DefaultModel
}

func timestamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// sleepFor finds SLEEP:<seconds> in a prompt.
func sleepFor(prompt string) (time.Duration, bool) {
	_, rest, ok := strings.Cut(prompt, "SLEEP:")
	if !ok {
		return 0, false
	}
	secs, err := strconv.ParseFloat(leadingNumber(rest), 64)
	if err != nil || secs <= 0 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// unixAfter reads the unix time after marker, defaulting to an hour from
// now.
func unixAfter(prompt, marker string) int64 {
	_, rest, _ := strings.Cut(prompt, marker)
	n, err := strconv.ParseInt(leadingNumber(rest), 10, 64)
	if err != nil {
		return time.Now().Add(time.Hour).Unix()
	}
	return n
}

func leadingNumber(s string) string {
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		return s
	}
	return s[:end]
}

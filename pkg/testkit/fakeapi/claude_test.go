package fakeapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/claudetest"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
)

// These tests run the real claude against the fake, to prove the fake
// speaks what claude expects. -short skips them.

// runClaude runs claude with stream-json output in dir under home. It
// reports trouble with t.Errorf, as it also runs off the test goroutine.
func runClaude(t *testing.T, bin string, srv *fakeapi.Server, home, dir, stdin string, args ...string) claudetest.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return claudetest.RunStreamJSON(ctx, t, bin, claudebin.Environ(home, srv.URL()), dir, stdin, args...)
}

func TestClaudeResume(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	home, dir := t.TempDir(), t.TempDir()
	const id = "11111111-2222-4333-8444-555555555555"

	first := runClaude(t, bin, srv, home, dir, "", "-p", "hello", "--session-id", id)
	res := first.Result(t)
	if first.Code != 0 || res["result"] != "ECHO[2]: hello" || res["is_error"] != false || res["session_id"] != id {
		t.Fatalf("first turn: exit %d, result %v", first.Code, res)
	}
	init := first.OfType("system", "")[0]
	if init["subtype"] != "init" || init["claude_code_version"] != claudebin.Version {
		t.Errorf("init %v", init)
	}

	second := runClaude(t, bin, srv, home, dir, "", "-p", "again", "--resume", id)
	res = second.Result(t)
	if second.Code != 0 || res["result"] != "ECHO[4]: again" || res["session_id"] != id {
		t.Fatalf("resumed turn: exit %d, result %v", second.Code, res)
	}

	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d turns, want 2", len(reqs))
	}
	r := reqs[1]
	if !r.HasText("hello") || !r.HasText("ECHO[2]: hello") || r.LastUserText() != "again" {
		t.Errorf("resumed request does not carry the first turn: %d messages", len(r.Messages))
	}
	if got := r.Header.Get("X-Claude-Code-Session-Id"); got != id {
		t.Errorf("session header %q", got)
	}
}

func TestClaudeScriptedText(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	srv.Push(fakeapi.Reply{Text: "tick tock done", Chunks: 3})
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "stream please", "--include-partial-messages")
	if res := run.Result(t); run.Code != 0 || res["result"] != "tick tock done" {
		t.Fatalf("exit %d, result %v", run.Code, res)
	}
	deltas := 0
	for _, e := range run.OfType("stream_event", "") {
		if e["event"].(map[string]any)["type"] == "content_block_delta" {
			deltas++
		}
	}
	if deltas != 3 {
		t.Errorf("%d deltas, want 3", deltas)
	}
	if srv.Pending() != 0 {
		t.Error("the scripted reply was not consumed")
	}
}

// TestClaudeToolUse uses the built-in Bash tool, as an MCP server is out of
// scope here; the SSE for a tool_use is the same.
func TestClaudeToolUse(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	srv.Push(fakeapi.Reply{ToolUse: &fakeapi.ToolUse{ID: "toolu_01test", Name: "Bash", Input: map[string]any{"command": "echo from-bash"}}})
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "run it", "--allowedTools", "Bash")
	res := run.Result(t)
	if run.Code != 0 || !strings.HasPrefix(res["result"].(string), "TOOL_RESULT: from-bash") || res["num_turns"] != 2.0 {
		t.Fatalf("exit %d, result %v", run.Code, res)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d turns, want 2", len(reqs))
	}
	if b, ok := reqs[1].ToolResult(); !ok || b.ToolUseID != "toolu_01test" {
		t.Errorf("second request lacks the tool_result: %+v", b)
	}
}

func TestClaudeAPIError(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	srv.Push(fakeapi.Error(400, "fake failure 400"))
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "fail please")
	res := run.Result(t)
	if run.Code != 1 || res["is_error"] != true || res["result"] != "API Error: 400 fake failure 400" || res["api_error_status"] != 400.0 {
		t.Fatalf("exit %d, result %v", run.Code, res)
	}
	if n := len(srv.Requests()); n < 2 {
		t.Errorf("claude made %d attempts; the sticky error should have met its retries", n)
	}
}

func TestClaudeStreamJSONInput(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	stdin := `{"type":"user","message":{"role":"user","content":"first"}}
{"type":"user","message":{"role":"user","content":[{"type":"text","text":"second"}]}}
`
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), stdin, "-p", "--input-format", "stream-json")
	if run.Code != 0 {
		t.Fatalf("exit %d; stderr: %s", run.Code, run.Stderr)
	}
	var seq []string
	for _, e := range run.Events {
		seq = append(seq, e["type"].(string))
	}
	// claude 2.1.328 announces itself before every turn.
	if got, want := strings.Join(seq, " "), "system assistant result system assistant result"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	results := run.OfType("result", "")
	if len(results) != 2 || results[0]["result"] != "ECHO[2]: first" || results[1]["result"] != "ECHO[4]: second" {
		t.Errorf("results %v", results)
	}
	if results[0]["session_id"] != results[1]["session_id"] {
		t.Error("the turns have different sessions")
	}
}

func TestClaudeConcurrent(t *testing.T) {
	t.Parallel()
	bin, srv := claudetest.Start(t)
	const n = 3
	results := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", fmt.Sprintf("run %d", i))
			if res := run.OfType("result", ""); run.Code == 0 && len(res) == 1 {
				results <- res[0]["result"].(string)
			} else {
				t.Errorf("run %d: exit %d; stderr: %s", i, run.Code, run.Stderr)
			}
		})
	}
	wg.Wait()
	close(results)
	seen := map[string]bool{}
	for r := range results {
		seen[r] = true
	}
	for i := range n {
		if want := fmt.Sprintf("ECHO[2]: run %d", i); !seen[want] {
			t.Errorf("no %q among %v", want, seen)
		}
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("%d turns, want %d", got, n)
	}
}

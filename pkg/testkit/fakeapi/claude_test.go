package fakeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
)

// These tests run the real claude against the fake, to prove the fake
// speaks what claude expects. -short skips them.

type claudeRun struct {
	events []map[string]any
	code   int
	stderr string
}

func (r claudeRun) ofType(typ string) []map[string]any {
	var out []map[string]any
	for _, e := range r.events {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

func (r claudeRun) result(t *testing.T) map[string]any {
	t.Helper()
	res := r.ofType("result")
	if len(res) != 1 {
		t.Fatalf("%d result events; stderr: %s", len(res), r.stderr)
	}
	return res[0]
}

func fakeAndClaude(t *testing.T) (*fakeapi.Server, string) {
	t.Helper()
	bin, err := claudebin.Ensure()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fakeapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, bin
}

// runClaude runs claude with stream-json output in dir under home, killing
// its whole process group when it ends or the test gives up on it. It
// reports trouble with t.Errorf, as it also runs off the test goroutine.
func runClaude(t *testing.T, bin string, srv *fakeapi.Server, home, dir, stdin string, args ...string) claudeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--output-format", "stream-json", "--verbose"}, args...)...)
	cmd.Env = claudebin.Environ(home, srv.URL())
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // children claude may have left
	}
	run := claudeRun{stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	case err != nil:
		t.Errorf("claude: %v; stderr: %s", err, run.stderr)
		run.code = -1
		return run
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("stdout line %q: %v", sc.Text(), err)
			continue
		}
		run.events = append(run.events, e)
	}
	return run
}

func TestClaudeResume(t *testing.T) {
	t.Parallel()
	srv, bin := fakeAndClaude(t)
	home, dir := t.TempDir(), t.TempDir()
	const id = "11111111-2222-4333-8444-555555555555"

	first := runClaude(t, bin, srv, home, dir, "", "-p", "hello", "--session-id", id)
	res := first.result(t)
	if first.code != 0 || res["result"] != "ECHO[2]: hello" || res["is_error"] != false || res["session_id"] != id {
		t.Fatalf("first turn: exit %d, result %v", first.code, res)
	}
	init := first.ofType("system")[0]
	if init["subtype"] != "init" || init["claude_code_version"] != claudebin.Version {
		t.Errorf("init %v", init)
	}

	second := runClaude(t, bin, srv, home, dir, "", "-p", "again", "--resume", id)
	res = second.result(t)
	if second.code != 0 || res["result"] != "ECHO[4]: again" || res["session_id"] != id {
		t.Fatalf("resumed turn: exit %d, result %v", second.code, res)
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
	srv, bin := fakeAndClaude(t)
	srv.Push(fakeapi.Reply{Text: "tick tock done", Chunks: 3})
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "stream please", "--include-partial-messages")
	if res := run.result(t); run.code != 0 || res["result"] != "tick tock done" {
		t.Fatalf("exit %d, result %v", run.code, res)
	}
	deltas := 0
	for _, e := range run.ofType("stream_event") {
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
	srv, bin := fakeAndClaude(t)
	srv.Push(fakeapi.Reply{ToolUse: &fakeapi.ToolUse{ID: "toolu_01test", Name: "Bash", Input: map[string]any{"command": "echo from-bash"}}})
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "run it", "--allowedTools", "Bash")
	res := run.result(t)
	if run.code != 0 || !strings.HasPrefix(res["result"].(string), "TOOL_RESULT: from-bash") || res["num_turns"] != 2.0 {
		t.Fatalf("exit %d, result %v", run.code, res)
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
	srv, bin := fakeAndClaude(t)
	srv.Push(fakeapi.Error(400, "fake failure 400"))
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", "fail please")
	res := run.result(t)
	if run.code != 1 || res["is_error"] != true || res["result"] != "API Error: 400 fake failure 400" || res["api_error_status"] != 400.0 {
		t.Fatalf("exit %d, result %v", run.code, res)
	}
	if n := len(srv.Requests()); n < 2 {
		t.Errorf("claude made %d attempts; the sticky error should have met its retries", n)
	}
}

func TestClaudeStreamJSONInput(t *testing.T) {
	t.Parallel()
	srv, bin := fakeAndClaude(t)
	stdin := `{"type":"user","message":{"role":"user","content":"first"}}
{"type":"user","message":{"role":"user","content":[{"type":"text","text":"second"}]}}
`
	run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), stdin, "-p", "--input-format", "stream-json")
	if run.code != 0 {
		t.Fatalf("exit %d; stderr: %s", run.code, run.stderr)
	}
	var seq []string
	for _, e := range run.events {
		seq = append(seq, e["type"].(string))
	}
	// claude 2.1.328 announces itself before every turn.
	if got, want := strings.Join(seq, " "), "system assistant result system assistant result"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
	results := run.ofType("result")
	if len(results) != 2 || results[0]["result"] != "ECHO[2]: first" || results[1]["result"] != "ECHO[4]: second" {
		t.Errorf("results %v", results)
	}
	if results[0]["session_id"] != results[1]["session_id"] {
		t.Error("the turns have different sessions")
	}
}

func TestClaudeConcurrent(t *testing.T) {
	t.Parallel()
	srv, bin := fakeAndClaude(t)
	const n = 3
	results := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			run := runClaude(t, bin, srv, t.TempDir(), t.TempDir(), "", "-p", fmt.Sprintf("run %d", i))
			if res := run.ofType("result"); run.code == 0 && len(res) == 1 {
				results <- res[0]["result"].(string)
			} else {
				t.Errorf("run %d: exit %d; stderr: %s", i, run.code, run.stderr)
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

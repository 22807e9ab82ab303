package mcpcmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/mcpconfig"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/template"
	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/claudetest"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

// These tests run the real claude with an mcp.json from mcpconfig.Build,
// so that claude starts ce-mcp (this test binary, see TestMain) and calls
// the echo extension's tools through it. -short skips them.

type e2e struct {
	srv   *fakeapi.Server
	bin   string
	state *statedir.Dir
	out   mcpconfig.Output
	file  string
}

func setupE2E(t *testing.T, gateway bool) *e2e {
	t.Helper()
	bin, srv := claudetest.Start(t)
	st := statetest.New(t)
	cfg := config.Default()
	cfg.Enabled = []string{"echo"}
	cfg.MCP.Gateway = gateway
	cmd, err := mcpconfig.Command()
	if err != nil {
		t.Fatal(err)
	}
	out, err := mcpconfig.Build(mcpconfig.Input{Config: cfg, Template: template.Template{}, Session: "e2e", State: st, MCPCommand: cmd})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(file, out.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	return &e2e{srv: srv, bin: bin, state: st, out: out, file: file}
}

// run runs claude -p with the mcp.json; claudebin kills its process group
// (and so the ce-mcp it started) at the end.
func (e *e2e) run(t *testing.T, args ...string) claudetest.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	argv := append([]string{"-p", "use the tool", "--mcp-config", e.file, "--strict-mcp-config"}, args...)
	run := claudetest.RunStreamJSON(ctx, t, e.bin, claudebin.Environ(t.TempDir(), e.srv.URL()), t.TempDir(), "", argv...)
	t.Logf("claude ran %s", run.Took.Round(time.Millisecond))
	return run
}

// connected checks that claude reports the ce_echo server connected.
func connected(t *testing.T, r claudetest.Run) {
	t.Helper()
	inits := r.OfType("system", "init")
	if len(inits) == 0 {
		t.Fatalf("no init event; stderr: %s", r.Stderr)
	}
	servers, _ := inits[0]["mcp_servers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("mcp_servers %v", inits[0]["mcp_servers"])
	}
	if s := servers[0].(map[string]any); s["name"] != "ce_echo" || s["status"] != "connected" {
		t.Errorf("server %v", s)
	}
}

// toolResults returns the tool_result texts claude sent, turn by turn.
func toolResults(t *testing.T, srv *fakeapi.Server) []fakeapi.Block {
	t.Helper()
	var out []fakeapi.Block
	for _, r := range srv.Requests() {
		if b, ok := r.ToolResult(); ok {
			out = append(out, b)
		}
	}
	return out
}

func mcpLog(t *testing.T, st *statedir.Dir) string {
	t.Helper()
	b, err := os.ReadFile(st.LogFile("mcp"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestClaudeCallsEcho(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, false)
	e.srv.Push(fakeapi.Reply{ToolUse: &fakeapi.ToolUse{ID: "toolu_e2e_echo", Name: "mcp__ce_echo__echo", Input: map[string]any{"text": "hi"}}})
	r := e.run(t, "--allowedTools", strings.Join(e.out.AllowedTools, ","), "--append-system-prompt", e.out.SystemPrompt)
	res := r.Result(t)
	if r.Code != 0 || res["is_error"] != false || res["result"] != `TOOL_RESULT: [{"type":"text","text":"hi"}]` {
		t.Fatalf("exit %d, result %v; stderr: %s", r.Code, res["result"], r.Stderr)
	}
	connected(t, r)
	results := toolResults(t, e.srv)
	if len(results) != 1 || results[0].ToolUseID != "toolu_e2e_echo" || results[0].IsError || !strings.Contains(results[0].ResultText(), `"text":"hi"`) {
		t.Errorf("tool results %+v", results)
	}
	if reqs := e.srv.Requests(); !strings.Contains(reqs[0].System, "The ce_echo tools echo text.") {
		t.Error("the extension's prompt did not reach the model")
	}
	log := mcpLog(t, e.state)
	if !strings.Contains(log, `"session":"e2e"`) || !strings.Contains(log, `"tool":"echo","tool_use_id":"toolu_e2e_echo"`) {
		t.Errorf("mcp.log:\n%s", log)
	}
}

func TestClaudeCallsGateway(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, true)
	if !strings.Contains(string(e.out.JSON), `"--gateway"`) {
		t.Fatalf("mcp.json without --gateway:\n%s", e.out.JSON)
	}
	e.srv.Push(
		fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: "mcp__ce_echo__ce_echo", Input: map[string]any{"action": "echo", "text": "hi"}}},
		fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: "mcp__ce_echo__ce_echo", Input: map[string]any{"action": "add", "a": 2, "b": 3}}},
		fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: "mcp__ce_echo__ce_echo", Input: map[string]any{"action": "help"}}},
		fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: "mcp__ce_echo__ce_echo", Input: map[string]any{"action": "shout"}}},
	)
	r := e.run(t, "--allowedTools", strings.Join(e.out.AllowedTools, ","))
	if res := r.Result(t); r.Code != 0 || res["is_error"] != false || res["num_turns"] != 5.0 {
		t.Fatalf("exit %d, result %v; stderr: %s", r.Code, res, r.Stderr)
	}
	connected(t, r)
	results := toolResults(t, e.srv)
	if len(results) != 4 {
		t.Fatalf("%d tool results", len(results))
	}
	for i, want := range []string{`"text":"hi"`, `"text":"5"`, `echo: Return the given text unchanged.`, `unknown action "shout" for ce_echo`} {
		if got := results[i].ResultText(); !strings.Contains(got, want) {
			t.Errorf("result %d: %s, want %s", i, got, want)
		}
	}
	if results[0].IsError || !results[3].IsError {
		t.Errorf("is_error: %v %v", results[0].IsError, results[3].IsError)
	}
}

// TestClaudeWithoutAllowedTools: without --allowedTools claude refuses the
// call itself (fixture 05); ce-mcp never sees it.
func TestClaudeWithoutAllowedTools(t *testing.T) {
	t.Parallel()
	e := setupE2E(t, false)
	e.srv.Push(fakeapi.Reply{ToolUse: &fakeapi.ToolUse{ID: "toolu_e2e_denied", Name: "mcp__ce_echo__echo", Input: map[string]any{"text": "hi"}}})
	r := e.run(t)
	res := r.Result(t)
	if r.Code != 0 {
		t.Fatalf("exit %d; stderr: %s", r.Code, r.Stderr)
	}
	connected(t, r)
	denied := r.OfType("system", "permission_denied")
	if len(denied) != 1 || denied[0]["tool_name"] != "mcp__ce_echo__echo" || denied[0]["tool_use_id"] != "toolu_e2e_denied" {
		t.Errorf("permission_denied events %v", denied)
	}
	ds, _ := res["permission_denials"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["tool_name"] != "mcp__ce_echo__echo" {
		t.Errorf("permission_denials %v", res["permission_denials"])
	}
	if results := toolResults(t, e.srv); len(results) != 1 || !results[0].IsError {
		t.Errorf("tool results %+v", results)
	}
	if log := mcpLog(t, e.state); strings.Contains(log, "tool call") {
		t.Errorf("ce-mcp ran the denied call:\n%s", log)
	}
}

package instantagent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
)

const sid = "11111111-2222-4333-8444-555555555555"

func run(t *testing.T, stdin string, args ...string) (events []map[string]any, stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return parse(t, out.String()), out.String(), errb.String(), code
}

func parse(t *testing.T, out string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || line[0] != '{' {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		events = append(events, e)
	}
	return events
}

func kinds(events []map[string]any) string {
	var k []string
	for _, e := range events {
		k = append(k, e["type"].(string))
	}
	return strings.Join(k, " ")
}

func TestPrompt(t *testing.T) {
	mcp := filepath.Join(t.TempDir(), "mcp.json")
	if err := os.WriteFile(mcp, []byte(`{"mcpServers":{"ce":{"command":"ce-mcp"},"other":{"command":"x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	events, _, stderr, code := run(t, "",
		"-p", "hello world", "--output-format", "stream-json", "--verbose", "--session-id", sid,
		"--model", "claude-test", "--max-turns", "3", "--permission-mode", "acceptEdits",
		"--mcp-config", mcp, "--strict-mcp-config", "--allowedTools", "mcp__ce", "--disallowedTools=Bash",
		"--append-system-prompt", "be brief", "--some-future-flag", "--other=1")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := kinds(events); got != "system assistant result" {
		t.Fatalf("events %q", got)
	}
	init, msg, res := events[0], events[1], events[2]

	wd, _ := os.Getwd()
	if init["subtype"] != "init" || init["session_id"] != sid || init["cwd"] != wd || init["model"] != "claude-test" ||
		init["permissionMode"] != "acceptEdits" || init["claude_code_version"] != claudebin.Version {
		t.Errorf("init %v", init)
	}
	servers, _ := json.Marshal(init["mcp_servers"])
	if string(servers) != `[{"name":"ce","status":"connected"},{"name":"other","status":"connected"}]` {
		t.Errorf("mcp_servers %s", servers)
	}
	tools, _ := json.Marshal(init["tools"])
	if strings.Contains(string(tools), `"Bash"`) || !strings.Contains(string(tools), `"Read"`) {
		t.Errorf("tools %s", tools)
	}

	m := msg["message"].(map[string]any)
	content, _ := json.Marshal(m["content"])
	if string(content) != `[{"text":"ECHO: hello world","type":"text"}]` || m["role"] != "assistant" ||
		!strings.HasPrefix(m["id"].(string), "msg_") || msg["session_id"] != sid {
		t.Errorf("assistant %v", msg)
	}

	if res["subtype"] != "success" || res["is_error"] != false || res["result"] != "ECHO: hello world" ||
		res["session_id"] != sid || res["total_cost_usd"] != CostPerTurn || res["num_turns"] != 1.0 {
		t.Errorf("result %v", res)
	}
	usage := res["usage"].(map[string]any)
	for _, k := range []string{"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"} {
		if _, ok := usage[k].(float64); !ok {
			t.Errorf("usage lacks %s: %v", k, usage)
		}
	}
	if _, ok := res["duration_ms"].(float64); !ok {
		t.Errorf("no duration_ms: %v", res)
	}
}

func TestPromptFromStdin(t *testing.T) {
	events, _, _, code := run(t, "from stdin\n", "-p", "--output-format", "stream-json", "--verbose", "--resume", sid)
	if code != 0 || len(events) != 3 || events[2]["result"] != "ECHO: from stdin" || events[2]["session_id"] != sid {
		t.Fatalf("exit %d, events %v", code, events)
	}
}

func TestOutputFormats(t *testing.T) {
	_, out, _, code := run(t, "", "-p", "plain")
	if code != 0 || out != "ECHO: plain\n" {
		t.Errorf("text: %d %q", code, out)
	}
	events, out, _, code := run(t, "", "-p", "js", "--output-format", "json")
	if code != 0 || strings.Count(out, "\n") != 1 || kinds(events) != "result" || events[0]["result"] != "ECHO: js" {
		t.Errorf("json: %d %q", code, out)
	}
	if id, _ := events[0]["session_id"].(string); len(id) != 36 {
		t.Errorf("invented session id %q", id)
	}
}

func TestStreamInput(t *testing.T) {
	stdin := `{"type":"user","message":{"role":"user","content":"first"}}

{"type":"control_request","request":{}}
{"type":"user","message":{"role":"user","content":[{"type":"text","text":"second"},{"type":"image","source":{}}]}}
`
	events, _, stderr, code := run(t, stdin, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := kinds(events); got != "system assistant result system assistant result" {
		t.Fatalf("events %q", got)
	}
	r1, r2 := events[2], events[5]
	if r1["result"] != "ECHO: first" || r2["result"] != "ECHO: second" {
		t.Errorf("results %v / %v", r1["result"], r2["result"])
	}
	if r1["result_index"] != 0.0 || r2["result_index"] != 1.0 || r2["total_cost_usd"] != 2*CostPerTurn {
		t.Errorf("second result %v", r2)
	}
	if r1["session_id"] != r2["session_id"] || events[0]["session_id"] != events[3]["session_id"] {
		t.Error("session changed between turns")
	}

	_, _, stderr, code = run(t, "not json\n", "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
	if code != 1 || !strings.Contains(stderr, "Error parsing streaming input line") {
		t.Errorf("bad line: %d %q", code, stderr)
	}
}

// TestStreamInputLive feeds turns one at a time, as ce does: each is
// answered before the next is written, and Main returns only at EOF.
func TestStreamInputLive(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int)
	go func() {
		code := Main([]string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"}, inR, outW, io.Discard)
		outW.Close()
		done <- code
	}()
	lines := bufio.NewScanner(outR)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatal("output ended")
		}
		var e map[string]any
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	for i, prompt := range []string{"one SLEEP:0.1", "two"} {
		t0 := time.Now()
		if _, err := io.WriteString(inW, `{"type":"user","message":{"role":"user","content":"`+prompt+`"}}`+"\n"); err != nil {
			t.Fatal(err)
		}
		if e := next(); e["subtype"] != "init" {
			t.Fatalf("turn %d began with %v", i, e)
		}
		if i == 0 && time.Since(t0) > 90*time.Millisecond {
			t.Error("init waited for the sleep")
		}
		next()
		if res := next(); res["type"] != "result" || res["result"] != "ECHO: "+prompt {
			t.Fatalf("turn %d: %v", i, res)
		}
		if i == 0 && time.Since(t0) < 100*time.Millisecond {
			t.Error("SLEEP:0.1 did not sleep")
		}
		select {
		case <-done:
			t.Fatal("Main returned before stdin EOF")
		default:
		}
	}
	inW.Close()
	if lines.Scan() {
		t.Errorf("extra output %q", lines.Text())
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

func TestFail(t *testing.T) {
	events, _, _, code := run(t, "", "-p", "FAIL: boom", "--output-format", "stream-json", "--verbose")
	if code != 1 || kinds(events) != "system assistant result" {
		t.Fatalf("exit %d, events %q", code, kinds(events))
	}
	res := events[2]
	if res["is_error"] != true || res["api_error_status"] != 500.0 || !strings.HasPrefix(res["result"].(string), "API Error: 500") {
		t.Errorf("result %v", res)
	}
	if events[1]["is_api_error_message"] != true || events[1]["message"].(map[string]any)["model"] != "<synthetic>" {
		t.Errorf("assistant %v", events[1])
	}

	// A failed turn does not end a stream-json session; the last turn sets
	// the exit status, as with the real claude.
	turn := func(p string) string { return `{"type":"user","message":{"role":"user","content":"` + p + `"}}` + "\n" }
	args := []string{"-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose"}
	events, _, _, code = run(t, turn("FAIL: x")+turn("fine"), args...)
	if code != 0 || len(events) != 6 || events[5]["is_error"] != false {
		t.Errorf("fail then fine: exit %d, %q", code, kinds(events))
	}
	_, _, _, code = run(t, turn("fine")+turn("FAIL: x"), args...)
	if code != 1 {
		t.Errorf("fine then fail: exit %d", code)
	}
}

func TestRateLimit(t *testing.T) {
	reset := time.Now().Add(time.Hour).Unix()
	events, _, _, code := run(t, "", "-p", fmt.Sprintf("RATELIMIT:%d please", reset), "--output-format", "stream-json", "--verbose")
	if code != 1 || kinds(events) != "system rate_limit_event assistant result" {
		t.Fatalf("exit %d, events %q", code, kinds(events))
	}
	info := events[1]["rate_limit_info"].(map[string]any)
	if info["status"] != "rejected" || info["resetsAt"] != float64(reset) || info["rateLimitType"] != "five_hour" {
		t.Errorf("rate_limit_info %v", info)
	}
	res := events[3]
	if res["is_error"] != true || !strings.HasPrefix(res["result"].(string), "You've hit your session limit · resets ") {
		t.Errorf("result %v", res)
	}
	// Once the reset has passed, the prompt is answered.
	events, _, _, code = run(t, "", "-p", "RATELIMIT:1000 please", "--output-format", "stream-json", "--verbose")
	if code != 0 || kinds(events) != "system assistant result" {
		t.Fatalf("after the reset: exit %d, events %q", code, kinds(events))
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"-p", "x", "--output-format", "stream-json"}, "requires --verbose"},
		{"", []string{"-p", "--input-format", "stream-json"}, "requires output-format=stream-json"},
		{"", []string{"-p", "x", "--session-id", "nope"}, "Invalid session ID"},
		{"  \n", []string{"-p"}, "Input must be provided"},
		{"", []string{"-p", "x", "--model"}, "argument missing"},
		{"", []string{"-p", "x", "--output-format", "yaml"}, "invalid --output-format"},
	} {
		_, out, stderr, code := run(t, tc.stdin, tc.args...)
		if code != 1 || out != "" || !strings.HasPrefix(stderr, "Error: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, code, out, stderr)
		}
	}
}

package fakeapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type event struct {
	Type string
	Data map[string]any
}

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// turnBody is a request shaped like claude's main-loop turns.
func turnBody(t *testing.T, messages ...any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"model":      "claude-test",
		"max_tokens": 32000,
		"stream":     true,
		"system":     []any{map[string]any{"type": "text", "text": "You are a test."}},
		"tools":      []any{map[string]any{"name": "ToolSearch", "input_schema": map[string]any{}}},
		"thinking":   map[string]any{"type": "adaptive"},
		"messages":   messages,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func user(content any) map[string]any { return map[string]any{"role": "user", "content": content} }

func post(t *testing.T, s *Server, path string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(s.URL()+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readSSE parses an event stream the way the Anthropic SDK does: "event:" and
// "data:" lines, a blank line ending each event.
func readSSE(t *testing.T, resp *http.Response) []event {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	var events []event
	var cur event
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Type != "" {
				events = append(events, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, "event: "):
			cur.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Data); err != nil {
				t.Fatalf("bad data line %q: %v", line, err)
			}
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Data["type"] != e.Type {
			t.Errorf("event %q carries data type %v", e.Type, e.Data["type"])
		}
	}
	return events
}

func types(events []event) string {
	var names []string
	for _, e := range events {
		names = append(names, e.Type)
	}
	return strings.Join(names, " ")
}

// text joins the text deltas, as claude assembles them.
func text(events []event) string {
	var b strings.Builder
	for _, e := range events {
		if d, ok := e.Data["delta"].(map[string]any); ok && d["type"] == "text_delta" {
			b.WriteString(d["text"].(string))
		}
	}
	return b.String()
}

func stopReason(t *testing.T, events []event) string {
	t.Helper()
	for _, e := range events {
		if e.Type == "message_delta" {
			return e.Data["delta"].(map[string]any)["stop_reason"].(string)
		}
	}
	t.Fatal("no message_delta")
	return ""
}

func TestEchoStream(t *testing.T) {
	s := start(t)
	resp := post(t, s, "/v1/messages?beta=true", turnBody(t,
		user([]any{
			map[string]any{"type": "text", "text": "<system-reminder>\nignore me\n</system-reminder>\n"},
			map[string]any{"type": "text", "text": "hello"},
		}),
		map[string]any{"role": "system", "content": "# Environment"},
	))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	events := readSSE(t, resp)
	want := "message_start ping content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := types(events); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	if got := text(events); got != "ECHO[2]: hello" {
		t.Errorf("text = %q", got)
	}
	msg := events[0].Data["message"].(map[string]any)
	if id := msg["id"].(string); !strings.HasPrefix(id, "msg_") {
		t.Errorf("message id %q", id)
	}
	if msg["model"] != "claude-test" {
		t.Errorf("model %v", msg["model"])
	}
	if in := msg["usage"].(map[string]any)["input_tokens"].(float64); in < 1 {
		t.Errorf("input_tokens %v", in)
	}
	if out := events[5].Data["usage"].(map[string]any)["output_tokens"].(float64); out < 1 {
		t.Errorf("output_tokens %v", out)
	}
	if got := stopReason(t, events); got != "end_turn" {
		t.Errorf("stop_reason %q", got)
	}

	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d turns recorded", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/messages" || r.Query != "beta=true" || !r.Stream ||
		r.MaxTokens != 32000 || r.Model != "claude-test" || r.System != "You are a test." ||
		len(r.Tools) != 1 || r.Tools[0].Name != "ToolSearch" || r.Thinking != "adaptive" || !r.Turn {
		t.Errorf("recorded request: %+v", r)
	}
	if r.LastUserText() != "hello" || !r.HasText("ignore me") || r.HasText("absent") {
		t.Errorf("LastUserText %q", r.LastUserText())
	}
}

func TestScriptedText(t *testing.T) {
	s := start(t)
	s.Push(Reply{Text: "one two three four", Chunks: 3, InputTokens: 42, OutputTokens: 7}, Reply{Text: "second"})
	if s.Pending() != 2 {
		t.Fatalf("Pending %d", s.Pending())
	}
	events := readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("hi"))))
	if got := text(events); got != "one two three four" {
		t.Errorf("text %q", got)
	}
	deltas := strings.Count(types(events), "content_block_delta")
	if deltas != 3 {
		t.Errorf("%d deltas, want 3", deltas)
	}
	if in := events[0].Data["message"].(map[string]any)["usage"].(map[string]any)["input_tokens"]; in != 42.0 {
		t.Errorf("input_tokens %v", in)
	}
	if got := text(readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("hi"))))); got != "second" {
		t.Errorf("second text %q", got)
	}
	if got := text(readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("hi"))))); got != "ECHO[1]: hi" {
		t.Errorf("after the script: %q", got)
	}
}

func TestToolUse(t *testing.T) {
	s := start(t)
	s.Push(Reply{Text: "calling", ToolUse: &ToolUse{Name: "mcp__t__echo", Input: map[string]any{"x": "hi"}}})
	events := readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("go"))))
	want := "message_start ping content_block_start content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop message_delta message_stop"
	if got := types(events); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	block := events[5].Data["content_block"].(map[string]any)
	if block["type"] != "tool_use" || block["name"] != "mcp__t__echo" || !strings.HasPrefix(block["id"].(string), "toolu_") {
		t.Errorf("tool_use block %v", block)
	}
	if events[5].Data["index"] != 1.0 {
		t.Errorf("tool_use index %v", events[5].Data["index"])
	}
	delta := events[6].Data["delta"].(map[string]any)
	var input map[string]any
	if err := json.Unmarshal([]byte(delta["partial_json"].(string)), &input); err != nil || input["x"] != "hi" {
		t.Errorf("input_json_delta %v (%v)", delta, err)
	}
	if got := stopReason(t, events); got != "tool_use" {
		t.Errorf("stop_reason %q", got)
	}
}

func TestToolResultEcho(t *testing.T) {
	s := start(t)
	assistant := map[string]any{"role": "assistant", "content": []any{
		map[string]any{"type": "tool_use", "id": "toolu_1", "name": "mcp__t__echo", "input": map[string]any{}},
	}}
	for _, tc := range []struct {
		content any
		want    string
	}{
		{"denied", "TOOL_RESULT: denied"},
		{[]any{map[string]any{"type": "text", "text": "ok"}}, `TOOL_RESULT: [{"text":"ok","type":"text"}]`},
	} {
		result := user([]any{map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": tc.content}})
		got := text(readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("go"), assistant, result))))
		if got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	r := s.Requests()[0]
	b, ok := r.ToolResult()
	if !ok || b.ToolUseID != "toolu_1" || b.ResultText() != "denied" {
		t.Errorf("ToolResult %+v %v", b, ok)
	}
}

func TestErrorReply(t *testing.T) {
	s := start(t)
	s.Push(Error(400, "fake failure"), Reply{Status: 529, ErrorType: "overloaded_error", ErrorMessage: "busy"})
	body := turnBody(t, user("hi"))
	for i := range 3 { // claude's retries repeat the messages: a sticky error answers them all
		resp := post(t, s, "/v1/messages", body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 {
			t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
		}
		var e struct {
			Type  string
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error.Type != "api_error" || e.Error.Message != "fake failure" {
			t.Errorf("body %s (%v)", b, err)
		}
	}
	if s.Pending() != 1 {
		t.Errorf("a sticky retry consumed the script: Pending %d", s.Pending())
	}
	resp := post(t, s, "/v1/messages", turnBody(t, user("other")))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 529 || !strings.Contains(string(b), `"overloaded_error"`) {
		t.Errorf("next turn: %d %s", resp.StatusCode, b)
	}
	if got := text(readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("other"))))); got != "ECHO[1]: other" {
		t.Errorf("a plain error reply was sticky: %q", got)
	}
}

func TestSideRequests(t *testing.T) {
	s := start(t)
	s.Push(Reply{Text: "for the turn"})

	// A non-streaming message gets a whole message.
	nb, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 100, "messages": []any{user("title?")}})
	resp := post(t, s, "/v1/messages?beta=true", nb)
	var m struct {
		ID, Type, Role string
		StopReason     string `json:"stop_reason"`
		Content        []Block
		Usage          map[string]int
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.ID, "msg_") || m.Type != "message" || m.Role != "assistant" || m.StopReason != "end_turn" ||
		len(m.Content) != 1 || m.Content[0].Text != "ECHO[1]: title?" || m.Usage["output_tokens"] < 1 {
		t.Errorf("non-streaming answer %+v", m)
	}

	// Probes and tool-free helpers stream but are no turn.
	probe, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 1, "stream": true, "messages": []any{user("quota")},
		"tools": []any{map[string]any{"name": "Bash"}}})
	if got := text(readSSE(t, post(t, s, "/v1/messages", probe))); got != "ECHO[1]: quota" {
		t.Errorf("probe %q", got)
	}
	helper, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 8000, "stream": true, "messages": []any{user("summarise")},
		"thinking": map[string]any{"type": "disabled"}})
	if got := text(readSSE(t, post(t, s, "/v1/messages", helper))); got != "ECHO[1]: summarise" {
		t.Errorf("helper %q", got)
	}
	labelled, err := http.NewRequest("POST", s.URL()+"/v1/messages", bytes.NewReader(turnBody(t, user("compact"))))
	if err != nil {
		t.Fatal(err)
	}
	labelled.Header.Set("x-claude-code-request-class", "compaction")
	lresp, err := http.DefaultClient.Do(labelled)
	if err != nil {
		t.Fatal(err)
	}
	defer lresp.Body.Close()
	if got := text(readSSE(t, lresp)); got != "ECHO[1]: compact" {
		t.Errorf("labelled side request %q", got)
	}

	resp = post(t, s, "/v1/messages/count_tokens?beta=true", nb)
	if b, _ := io.ReadAll(resp.Body); string(b) != `{"input_tokens":10}` {
		t.Errorf("count_tokens %s", b)
	}
	for _, path := range []string{"/api/hello", "/v1/models"} {
		gresp, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(gresp.Body)
		gresp.Body.Close()
		if gresp.StatusCode != 200 || string(b) != "{}" {
			t.Errorf("GET %s: %d %s", path, gresp.StatusCode, b)
		}
	}
	hresp, err := http.Head(s.URL() + "/api/hello")
	if err != nil || hresp.StatusCode != 200 {
		t.Errorf("HEAD: %v %v", hresp, err)
	}

	if s.Pending() != 1 || len(s.Requests()) != 0 {
		t.Fatalf("side requests touched the script: Pending %d, turns %d", s.Pending(), len(s.Requests()))
	}
	if n := len(s.AllRequests()); n != 8 {
		t.Errorf("AllRequests has %d, want 8", n)
	}

	// A tool-free turn with thinking on, as claude --tools "" sends, is a turn.
	noTools, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 8000, "stream": true, "messages": []any{user("hi")},
		"thinking": map[string]any{"type": "adaptive"}})
	if got := text(readSSE(t, post(t, s, "/v1/messages", noTools))); got != "for the turn" {
		t.Errorf("turn without tools got %q", got)
	}
}

func TestSlowStreamAndClose(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	s.Push(Reply{Text: "abcd", Chunks: 4, ChunkDelay: 20 * time.Millisecond}, Reply{Delay: time.Hour})

	t0 := time.Now()
	events := readSSE(t, post(t, s, "/v1/messages", turnBody(t, user("hi"))))
	// Ten events, nine pauses between them.
	if d := time.Since(t0); d < 9*20*time.Millisecond {
		t.Errorf("slow stream took only %v", d)
	}
	if text(events) != "abcd" {
		t.Errorf("text %q", text(events))
	}

	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/v1/messages", "application/json", bytes.NewReader(turnBody(t, user("hi"))))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(s.Requests()) < 2 {
		time.Sleep(time.Millisecond)
	}
	t0 = time.Now()
	s.Close()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Close waited %v for a delayed reply", d)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("client still waiting after Close")
	}
}

func TestConcurrentTurns(t *testing.T) {
	s := start(t)
	const n = 20
	for i := range n {
		s.Push(Reply{Text: fmt.Sprintf("reply %d", i)})
	}
	var wg sync.WaitGroup
	got := make(chan string, 2*n)
	for range 2 * n {
		wg.Go(func() {
			resp, err := http.Post(s.URL()+"/v1/messages", "application/json", bytes.NewReader(turnBody(t, user("x"))))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got <- string(b)
		})
	}
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	echoes := 0
	for b := range got {
		switch {
		case strings.Contains(b, "ECHO[1]: x"):
			echoes++
		case strings.Contains(b, "reply "):
			i := strings.Index(b, "reply ")
			r := b[i : i+strings.IndexByte(b[i:], '"')]
			if seen[r] {
				t.Errorf("%s served twice", r)
			}
			seen[r] = true
		}
	}
	if len(seen) != n || echoes != n {
		t.Errorf("%d scripted, %d echoes; want %d each", len(seen), echoes, n)
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want []string
	}{
		{"abcdef", 3, []string{"ab", "cd", "ef"}},
		{"abc", 5, []string{"a", "b", "c"}},
		{"héllo", 2, []string{"hé", "llo"}},
		{"x", 0, []string{"x"}},
	} {
		if got := split(tc.s, tc.n); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("split(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ce-platform/ce/pkg/streamjson"
)

func TestToolLine(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		b    streamjson.Block
		want string
	}{
		{streamjson.Block{Type: "tool_use", Name: "Bash", Input: []byte(`{"command":"ls -la","description":"list"}`)}, "▸ Bash: ls -la"},
		{streamjson.Block{Type: "tool_use", Name: "Bash", Input: []byte(`{"command":"cd /x &&\n  make\ttest"}`)}, "▸ Bash: cd /x && make test"},
		{streamjson.Block{Type: "tool_use", Name: "Read", Input: []byte(`{"file_path":"/etc/hosts"}`)}, "▸ Read: /etc/hosts"},
		{streamjson.Block{Type: "tool_use", Name: "mcp__ce_memory__memory_search", Input: []byte(`{ "query" : "x" }`)}, `▸ mcp__ce_memory__memory_search {"query":"x"}`},
		{streamjson.Block{Type: "tool_use", Name: "Bash", Input: []byte(`{"cmd":1}`)}, `▸ Bash {"cmd":1}`},
		{streamjson.Block{Type: "tool_use", Name: "TodoWrite", Input: []byte(`{}`)}, "▸ TodoWrite"},
		{streamjson.Block{Type: "tool_use", Name: "X"}, "▸ X"},
		{streamjson.Block{Type: "tool_use", Name: "Bash", Input: []byte(`{"command":"echo ` + long + `"}`)}, "▸ Bash: echo " + strings.Repeat("x", 86) + "…"},
		{streamjson.Block{Type: "text", Text: "hi"}, ""},
	}
	for _, tt := range tests {
		got := ToolLine(tt.b)
		if got != tt.want {
			t.Errorf("ToolLine(%s %s) = %q, want %q", tt.b.Name, tt.b.Input, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > ToolLineMax || strings.ContainsAny(got, "\n\r\t") {
			t.Errorf("ToolLine = %q: %d characters or not one line", got, n)
		}
	}
}

func parse(t *testing.T, line string) streamjson.Event {
	t.Helper()
	ev, err := streamjson.Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestEventKinds(t *testing.T) {
	ev := parse(t, `{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"Hello"},{"type":"tool_use","name":"Bash","input":{"command":"ls"}}]}}`)
	got := Event(ev)
	if len(got) != 2 || got[0] != (Piece{Text, "Hello"}) || got[1] != (Piece{Tool, "▸ Bash: ls"}) {
		t.Fatalf("assistant = %+v", got)
	}
	ok := parse(t, `{"type":"result","subtype":"success","is_error":false,"result":"fine","num_turns":1,"duration_ms":1234,"total_cost_usd":0.0042}`)
	if got := Event(ok); len(got) != 1 || got[0].Text != "── done: 1 turn, 1.2s, $0.0042" {
		t.Fatalf("result = %+v", got)
	}
	bad := parse(t, `{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":3,"duration_ms":10,"total_cost_usd":0}`)
	if got := Event(bad); len(got) != 1 || got[0].Text != "── error: error_max_turns (3 turns, 0.0s, $0.0000)" {
		t.Fatalf("failed result = %+v", got)
	}
	den := parse(t, `{"type":"system","subtype":"permission_denied","tool_name":"Write","message":"needs approval"}`)
	if got := Event(den); len(got) != 1 || got[0] != (Piece{Denied, "✗ denied: Write: needs approval"}) {
		t.Fatalf("denied = %+v", got)
	}
	if got := Event(parse(t, `{"type":"system","subtype":"init"}`)); got != nil {
		t.Fatalf("init rendered %+v", got)
	}
}

func TestPrinterRoutesAndEscapes(t *testing.T) {
	var out, tools bytes.Buffer
	p := Printer{Text: &out, Tools: &tools}
	p.Line([]byte(`{"type":"assistant","message":{"content":[{"type":"text","text":"\u001b[2Jhi"},{"type":"tool_use","name":"Bash","input":{"command":"ls"}}]}}`))
	p.Line([]byte(`{"type":"result","is_error":false,"result":"x"}`))
	p.Line([]byte(`not json`))
	if out.String() != "\\x1b[2Jhi\n" {
		t.Errorf("text = %q", out.String())
	}
	if tools.String() != "▸ Bash: ls\n" {
		t.Errorf("tools = %q", tools.String())
	}
}

func FuzzEvent(f *testing.F) {
	f.Add([]byte(`{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"\u0000\n"}}]}}`))
	f.Add([]byte(`{"type":"result","is_error":true,"errors":[{"message":"x"}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := streamjson.Parse(line)
		if err != nil {
			return
		}
		for _, p := range Event(ev) {
			if p.Kind == Tool || p.Kind == Denied {
				if utf8.RuneCountInString(p.Text) > ToolLineMax || strings.ContainsAny(p.Text, "\n\r") {
					t.Errorf("line = %q", p.Text)
				}
			}
		}
	})
}

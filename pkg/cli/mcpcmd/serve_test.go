package mcpcmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter closes done after want lines were written.
type lineWriter struct {
	mu    sync.Mutex
	w     io.Writer
	lines int
	want  int
	done  chan struct{}
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	before := l.lines
	l.lines += bytes.Count(p, []byte("\n"))
	if before < l.want && l.lines >= l.want {
		close(l.done)
	}
	return l.w.Write(p)
}

// waitEOF is a reader that ends when done is closed, or after 10 s.
type waitEOF chan struct{}

func (w waitEOF) Read([]byte) (int, error) {
	select {
	case <-w:
	case <-time.After(10 * time.Second):
	}
	return 0, io.EOF
}

// TestServeStdout: serve answers claude's opening requests and writes
// nothing but JSON-RPC messages to stdout; its log goes to logs/mcp.log.
func TestServeStdout(t *testing.T) {
	state := t.TempDir()
	t.Setenv("CE_STATE_DIR", state)
	t.Setenv("CE_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("CE_SESSION", "s9")
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":"server-discover-probe-1","method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`{"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"claude-code","version":"2.1.328"}},"jsonrpc":"2.0","id":0}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"method":"tools/list","jsonrpc":"2.0","id":1}`,
		`{"method":"tools/call","params":{"name":"ce_echo","arguments":{"action":"add","a":1,"b":2},"_meta":{"claudecode/toolUseId":"toolu_9","progressToken":2}},"jsonrpc":"2.0","id":2}`,
	}, "\n") + "\n"
	var stdout, stderr bytes.Buffer
	// stdin ends once the four requests are answered, as claude keeps it
	// open while it waits
	out := &lineWriter{w: &stdout, want: 4, done: make(chan struct{})}
	stdin := io.MultiReader(strings.NewReader(in), waitEOF(out.done))
	if code := App().Run([]string{"serve", "--gateway", "echo"}, stdin, out, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	ids := map[string]string{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var m struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Result  json.RawMessage `json:"result"`
			Error   json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.JSONRPC != "2.0" {
			t.Fatalf("stdout line %q is not JSON-RPC: %v", sc.Text(), err)
		}
		ids[string(m.ID)] = string(m.Result) + string(m.Error)
	}
	if len(ids) != 4 {
		t.Errorf("%d answers: %v", len(ids), ids)
	}
	if !strings.Contains(ids[`"server-discover-probe-1"`], `"code":-32601`) {
		t.Errorf("discover: %s", ids[`"server-discover-probe-1"`])
	}
	if !strings.Contains(ids["1"], `"name":"ce_echo"`) || !strings.Contains(ids["2"], `"text":"3"`) {
		t.Errorf("tools: %s\ncall: %s", ids["1"], ids["2"])
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	log, err := os.ReadFile(filepath.Join(state, "logs", "mcp.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"session":"s9"`, `"gateway":true`, `"tool":"ce_echo","tool_use_id":"toolu_9"`, `"message":"stopped"`} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("mcp.log lacks %s:\n%s", want, log)
		}
	}
}

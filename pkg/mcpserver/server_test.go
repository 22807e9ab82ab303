package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/echo"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/rs/zerolog"
)

// probe is an extension whose tools report what they were called with.
func probe() *ext.Extension {
	return &ext.Extension{
		Name:        "probe",
		Description: "Test tools.",
		Tools: []ext.Tool{
			{
				Name: "whoami", Description: "Report the call.", ReadOnly: true,
				Schema: ext.Schema(map[string]any{"x": ext.Prop("string", "Anything.")}),
				Handler: func(_ context.Context, c ext.Call) ext.Result {
					return ext.JSON(map[string]any{"session": c.Env.Session, "tool_use_id": c.ToolUseID, "args": c.Args})
				},
			},
			{
				Name: "wipe", Description: "Pretend to delete.\nSecond line.", Destructive: true,
				Schema: ext.Schema(map[string]any{
					"x":    ext.Prop("string", "What to wipe."),
					"mode": map[string]any{"type": "string", "enum": []string{"soft", "hard"}, "description": "How."},
				}, "x"),
				Handler: func(_ context.Context, c ext.Call) ext.Result { return ext.Result{Text: "wiped " + c.String("x")} },
			},
			{
				Name: "boom", Description: "Panic.",
				Handler: func(context.Context, ext.Call) ext.Result { panic("kaboom") },
			},
		},
	}
}

// serve runs ServeAll on pipes and returns the client's ends; closing the
// writer ends the server, which the cleanup waits for.
func serve(t *testing.T, exts []*ext.Extension, opts Options) (io.WriteCloser, *bufio.Reader) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := ServeAll(context.Background(), exts, exttest.BrokerEnv(t, "s1"), inR, outW, opts)
		outW.Close()
		done <- err
	}()
	t.Cleanup(func() {
		inW.Close()
		go io.Copy(io.Discard, outR)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("the server did not stop at the end of its input")
		}
	})
	return inW, bufio.NewReader(outR)
}

type response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func readResponse(t *testing.T, r *bufio.Reader) response {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("response %q: %v", line, err)
	}
	return resp
}

// TestClaudeRequests replays what claude 2.1.328 sends (fixture 09): the
// server/discover probe must fail "method not found", initialize must
// settle on 2025-11-25, and the call must carry claude's tool-use id.
func TestClaudeRequests(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "09-mcp-client-requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 5 {
		t.Fatalf("fixture has %d lines", len(lines))
	}
	lines[4] = strings.Replace(lines[4], `"name":"echo","arguments":{"x":"hello"}`, `"name":"echo","arguments":{"text":"hello"}`, 1)
	in, out := serve(t, []*ext.Extension{echo.New()}, Options{})
	send := func(i int) {
		if _, err := io.WriteString(in, lines[i]+"\n"); err != nil {
			t.Fatal(err)
		}
	}

	send(0)
	resp := readResponse(t, out)
	if string(resp.ID) != `"server-discover-probe-1"` || resp.Error == nil || resp.Error.Code != mcp.METHOD_NOT_FOUND || resp.Result != nil {
		t.Fatalf("server/discover: %+v %s", resp.Error, resp.Result)
	}

	send(1)
	resp = readResponse(t, out)
	var init mcp.InitializeResult
	if err := json.Unmarshal(resp.Result, &init); err != nil || string(resp.ID) != "0" {
		t.Fatalf("initialize: %s %v", resp.Result, err)
	}
	if init.ProtocolVersion != "2025-11-25" || init.ServerInfo.Name != "ce_echo" || init.Capabilities.Tools == nil {
		t.Errorf("initialize result %s", resp.Result)
	}

	send(2)
	send(3)
	resp = readResponse(t, out)
	var list struct {
		Tools []struct {
			Name        string             `json:"name"`
			Annotations mcp.ToolAnnotation `json:"annotations"`
			InputSchema map[string]any     `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(resp.Result, &list); err != nil || len(list.Tools) != 2 {
		t.Fatalf("tools/list: %s %v", resp.Result, err)
	}
	for _, tl := range list.Tools {
		if a := tl.Annotations; !*a.ReadOnlyHint || *a.DestructiveHint || *a.OpenWorldHint {
			t.Errorf("%s annotations %+v", tl.Name, a)
		}
		if tl.InputSchema["type"] != "object" {
			t.Errorf("%s schema %v", tl.Name, tl.InputSchema)
		}
	}

	send(4)
	resp = readResponse(t, out)
	var res mcp.CallToolResult
	if err := json.Unmarshal(resp.Result, &res); err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("tools/call: %s %v", resp.Result, err)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); !ok || tc.Text != "hello" {
		t.Errorf("tools/call content %+v", res.Content[0])
	}
}

// TestDiscoverFilterPassesOtherLines: only requests are answered; a server/discover
// notification (no id) goes on to mcp-go, which ignores it.
func TestDiscoverFilterPassesOtherLines(t *testing.T) {
	var answered strings.Builder
	in := strings.NewReader(`{"jsonrpc":"2.0","method":"server/discover"}` + "\n" +
		`{"jsonrpc":"2.0","id":7,"method":"server/discover","params":{}}` + "\n" +
		`{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"q":"server/discover"}}`)
	b, err := io.ReadAll(newDiscoverFilter(in, &answered, zerolog.Nop()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"jsonrpc":"2.0","method":"server/discover"}` + "\n" + `{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"q":"server/discover"}}`
	if string(b) != want {
		t.Errorf("passed %q", b)
	}
	if got := answered.String(); got != `{"error":{"code":-32601,"message":"Method not found: server/discover"},"id":7,"jsonrpc":"2.0"}`+"\n" {
		t.Errorf("answered %q", got)
	}
}

// TestStdioClient talks to the stdio server with mcp-go's own client, which
// also probes server/discover first and must fall back to initialize.
func TestStdioClient(t *testing.T) {
	in, out := serve(t, []*ext.Extension{probe()}, Options{Version: "1.2.3"})
	c := client.NewClient(transport.NewIO(out, in, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_PROTOCOL_VERSION}})
	if err != nil {
		t.Fatal(err)
	}
	if init.ProtocolVersion != mcp.ProtocolVersion20251125 || init.ServerInfo.Version != "1.2.3" {
		t.Errorf("negotiated %s with %+v", init.ProtocolVersion, init.ServerInfo)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mcp.Tool{}
	for _, tl := range list.Tools {
		byName[tl.Name] = tl
	}
	wipe := byName["wipe"].Annotations
	if *wipe.ReadOnlyHint || !*wipe.DestructiveHint || *wipe.OpenWorldHint || *wipe.IdempotentHint {
		t.Errorf("wipe annotations %+v", wipe)
	}
	if who := byName["whoami"].Annotations; !*who.ReadOnlyHint || *who.DestructiveHint {
		t.Errorf("whoami annotations %+v", who)
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = "whoami"
	req.Params.Arguments = map[string]any{"x": "y"}
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{ToolUseIDMeta: "toolu_42"}}
	got := callText(t, c, req, false)
	var seen struct {
		Session   string         `json:"session"`
		ToolUseID string         `json:"tool_use_id"`
		Args      map[string]any `json:"args"`
	}
	if err := json.Unmarshal([]byte(got), &seen); err != nil {
		t.Fatal(err)
	}
	if seen.Session != "s1" || seen.ToolUseID != "toolu_42" || seen.Args["x"] != "y" {
		t.Errorf("the tool saw %+v", seen)
	}

	req = mcp.CallToolRequest{}
	req.Params.Name = "boom"
	if got := callText(t, c, req, true); !strings.Contains(got, "tool boom failed with an internal error: kaboom") {
		t.Errorf("panic result %q", got)
	}
	req.Params.Name = "whoami"
	if got := callText(t, c, req, false); !strings.Contains(got, `"session": "s1"`) {
		t.Errorf("after the panic: %q", got)
	}
}

func callText(t *testing.T, c *client.Client, req mcp.CallToolRequest, wantErr bool) string {
	t.Helper()
	res, err := c.CallTool(t.Context(), req)
	if err != nil {
		t.Fatalf("call %s: %v", req.Params.Name, err)
	}
	if res.IsError != wantErr || len(res.Content) != 1 {
		t.Fatalf("call %s: is_error %v, %d blocks: %+v", req.Params.Name, res.IsError, len(res.Content), res.Content)
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("call %s: content %T", req.Params.Name, res.Content[0])
	}
	return tc.Text
}

func TestOneStdioServerPerProcess(t *testing.T) {
	in, out := serve(t, []*ext.Extension{echo.New()}, Options{})
	// an answered ping means the first server is listening
	if _, err := io.WriteString(in, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if resp := readResponse(t, out); resp.Error != nil {
		t.Fatalf("ping: %+v", resp.Error)
	}
	err := ServeAll(t.Context(), []*ext.Extension{echo.New()}, exttest.BrokerEnv(t, "s1"), strings.NewReader(""), io.Discard, Options{})
	if err == nil || !strings.Contains(err.Error(), "already serves") {
		t.Errorf("second server: %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	inR, inW := io.Pipe()
	defer inW.Close()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, echo.New(), exttest.BrokerEnv(t, "s1"), inR, io.Discard, Options{}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not stop")
	}
}

func TestToolsErrors(t *testing.T) {
	dup := &ext.Extension{Name: "dup", Tools: []ext.Tool{{Name: "echo", Handler: echo.New().Tools[0].Handler}}}
	if _, err := Tools([]*ext.Extension{echo.New(), dup}, false); err == nil || !strings.Contains(err.Error(), `tool "echo" of extension dup is also a tool of echo`) {
		t.Errorf("duplicate: %v", err)
	}
	noHandler := &ext.Extension{Name: "nh", Tools: []ext.Tool{{Name: "x"}}}
	if _, err := Tools([]*ext.Extension{noHandler}, false); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Errorf("no handler: %v", err)
	}
	badSchema := &ext.Extension{Name: "bs", Tools: []ext.Tool{{Name: "x", Schema: map[string]any{"type": "string"}, Handler: dup.Tools[0].Handler}}}
	if _, err := Tools([]*ext.Extension{badSchema}, false); err == nil || !strings.Contains(err.Error(), "want object") {
		t.Errorf("bad schema: %v", err)
	}
	if _, err := New(nil, ext.Env{}, Options{}); err == nil {
		t.Error("New with no extension")
	}
}

func TestSchemaWithoutArguments(t *testing.T) {
	tools, err := Tools([]*ext.Extension{probe()}, false)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(tools, func(t Tool) bool { return t.MCP.Name == "boom" })
	if got := string(tools[i].MCP.RawInputSchema); got != `{"properties":{},"type":"object"}` {
		t.Errorf("schema %s", got)
	}
}

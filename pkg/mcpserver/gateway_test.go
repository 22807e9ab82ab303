package mcpserver

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/echo"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func inProcess(t *testing.T, exts []*ext.Extension, opts Options) *client.Client {
	t.Helper()
	s, err := New(exts, exttest.BrokerEnv(t, "s1"), opts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewInProcessClient(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func call(name string, args map[string]any) mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	return req
}

func TestGatewayTool(t *testing.T) {
	single := &ext.Extension{Name: "one", Tools: []ext.Tool{{Name: "only", Description: "The only tool.", Handler: echo.New().Tools[0].Handler,
		Schema: ext.Schema(map[string]any{"text": ext.Prop("string", "Text.")}, "text")}}}
	c := inProcess(t, []*ext.Extension{probe(), single}, Options{Gateway: true})
	list, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "ce_probe only" {
		t.Fatalf("gateway tools %q, want the folded ce_probe and the single tool unchanged", got)
	}
	i := slices.IndexFunc(list.Tools, func(tl mcp.Tool) bool { return tl.Name == "ce_probe" })
	g := list.Tools[i]
	if a := g.Annotations; *a.ReadOnlyHint || !*a.DestructiveHint || *a.OpenWorldHint {
		t.Errorf("gateway annotations %+v: one destructive action makes it destructive", a)
	}
	for _, want := range []string{"Test tools.", "- whoami: Report the call.", "- wipe: Pretend to delete.\n", `Action "help"`} {
		if !strings.Contains(g.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, g.Description)
		}
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	b, _ := json.Marshal(g.InputSchema)
	if g.RawInputSchema != nil {
		b = g.RawInputSchema
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(schema.Required, []string{"action"}) {
		t.Errorf("required %v", schema.Required)
	}
	if enum := schema.Properties["action"]["enum"]; len(enum.([]any)) != 4 {
		t.Errorf("action enum %v", enum)
	}
	if d := schema.Properties["x"]["description"]; d != "whoami: Anything. (string); wipe: What to wipe. (string)" {
		t.Errorf("shared x described as %q", d)
	}
	if d := schema.Properties["mode"]; d["description"] != "How. (for wipe)" || d["type"] != "string" {
		t.Errorf("mode %v", d)
	}

	help := callText(t, c, call("ce_probe", map[string]any{"action": "help"}), false)
	for _, want := range []string{
		`call ce_probe with "action" set to one of them`,
		"whoami: Report the call.\n  x (string, optional): Anything.\n",
		"wipe: Pretend to delete.\nSecond line.\n  mode (string, optional): How. One of: soft, hard.\n  x (string, required): What to wipe.\n",
		"boom: Panic.\n  (no arguments)\n",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if got := callText(t, c, call("ce_probe", map[string]any{"action": "nope"}), true); got != `unknown action "nope" for ce_probe; the actions are whoami, wipe, boom, and "help" describes them` {
		t.Errorf("unknown action: %q", got)
	}
	if got := callText(t, c, call("ce_probe", map[string]any{}), true); !strings.Contains(got, `argument "action" is required: one of whoami, wipe, boom`) {
		t.Errorf("no action: %q", got)
	}
	if got := callText(t, c, call("ce_probe", map[string]any{"action": "wipe"}), true); !strings.HasPrefix(got, `action wipe needs argument "x" (string): What to wipe.`) || !strings.Contains(got, "mode (string, optional)") {
		t.Errorf("missing argument: %q", got)
	}
	if got := callText(t, c, call("ce_probe", map[string]any{"action": "wipe", "x": "disk"}), false); got != "wiped disk" {
		t.Errorf("wipe: %q", got)
	}
	got := callText(t, c, call("ce_probe", map[string]any{"action": "whoami", "x": "y"}), false)
	if !strings.Contains(got, `"args": {`+"\n"+`    "x": "y"`+"\n  }") {
		t.Errorf("the action got the action argument too: %s", got)
	}
	if got := callText(t, c, call("only", map[string]any{"text": "hi"}), false); got != "hi" {
		t.Errorf("single tool: %q", got)
	}
}

func TestGatewayReadOnly(t *testing.T) {
	tl, err := Gateway(echo.New())
	if err != nil {
		t.Fatal(err)
	}
	if a := tl.MCP.Annotations; !*a.ReadOnlyHint || *a.DestructiveHint || !*a.IdempotentHint || *a.OpenWorldHint {
		t.Errorf("annotations %+v", a)
	}
	if tl.MCP.Name != "ce_echo" || tl.Server != "ce_echo" || tl.Extension != "echo" {
		t.Errorf("named %s on %s", tl.MCP.Name, tl.Server)
	}
}

func TestGatewayRefuses(t *testing.T) {
	h := echo.New().Tools[0].Handler
	withAction := &ext.Extension{Name: "a", Tools: []ext.Tool{
		{Name: "x", Handler: h, Schema: ext.Schema(map[string]any{"action": ext.Prop("string", "")})},
		{Name: "y", Handler: h},
	}}
	if _, err := Gateway(withAction); err == nil || !strings.Contains(err.Error(), `tool x has an argument named "action"`) {
		t.Errorf("action argument: %v", err)
	}
	withHelp := &ext.Extension{Name: "h", Tools: []ext.Tool{{Name: "help", Handler: h}, {Name: "y", Handler: h}}}
	if _, err := Tools([]*ext.Extension{withHelp}, true); err == nil || !strings.Contains(err.Error(), `a tool named "help"`) {
		t.Errorf("help tool: %v", err)
	}
	if _, err := Tools([]*ext.Extension{withHelp}, false); err != nil {
		t.Errorf("without gateway: %v", err)
	}
}

func TestGatewayDifferentShapes(t *testing.T) {
	h := echo.New().Tools[0].Handler
	e := &ext.Extension{Name: "s", Tools: []ext.Tool{
		{Name: "a", Handler: h, Schema: ext.Schema(map[string]any{"n": ext.Prop("string", "Name.")})},
		{Name: "b", Handler: h, Schema: ext.Schema(map[string]any{"n": ext.Prop("number", "Count.")})},
	}}
	props := unionProperties(e)
	n := props["n"].(map[string]any)
	if _, typed := n["type"]; typed || n["description"] != "a: Name. (string); b: Count. (number)" {
		t.Errorf("n %v", n)
	}
}

package mcpconfig

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/template"
)

func init() {
	ext.Register("waiter", func() *ext.Extension {
		return &ext.Extension{
			Name: "waiter", Prompt: "  Wait for people.  ", Timeout: 10 * time.Minute,
			Tools: []ext.Tool{{Name: "wait", Handler: func(context.Context, ext.Call) ext.Result { return ext.Result{} }}},
		}
	})
	ext.Register("daemononly", func() *ext.Extension { return &ext.Extension{Name: "daemononly", Prompt: "never"} })
}

func input(t *testing.T, enabled ...string) Input {
	cfg := config.Default()
	cfg.Enabled = enabled
	cfg.MCP.Servers = map[string]config.MCPServer{
		"zeta":   {Command: "zeta-mcp"},
		"github": {Command: "gh-mcp", Args: []string{"--stdio"}, Env: map[string]string{"GH_HOST": "example.com"}, Timeout: config.Duration(90 * time.Second)},
	}
	return Input{Config: cfg, Session: "s1", State: &statedir.Dir{Root: "/st"}, MCPCommand: []string{"/bin/ce-mcp"}}
}

// buildFile builds the mcp.json of in and decodes it.
func buildFile(t *testing.T, in Input) File {
	t.Helper()
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(out.JSON, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBuild(t *testing.T) {
	in := input(t, "waiter", "nosuch", "echo", "daemononly")
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "mcpServers": {
    "ce_echo": {
      "command": "/bin/ce-mcp",
      "args": [
        "serve",
        "echo"
      ],
      "env": {
        "CE_BRIDGE_SOCKET": "/st/bridge.sock",
        "CE_SESSION": "s1",
        "CE_STATE_DIR": "/st"
      }
    },
    "ce_waiter": {
      "command": "/bin/ce-mcp",
      "args": [
        "serve",
        "waiter"
      ],
      "env": {
        "CE_BRIDGE_SOCKET": "/st/bridge.sock",
        "CE_SESSION": "s1",
        "CE_STATE_DIR": "/st"
      },
      "timeout": 600000
    },
    "github": {
      "command": "gh-mcp",
      "args": [
        "--stdio"
      ],
      "env": {
        "GH_HOST": "example.com"
      },
      "timeout": 90000
    },
    "zeta": {
      "command": "zeta-mcp",
      "args": []
    }
  }
}
`
	if string(out.JSON) != want {
		t.Errorf("mcp.json:\n%s\nwant:\n%s", out.JSON, want)
	}
	if got := strings.Join(out.Servers, " "); got != "ce_echo ce_waiter github zeta" {
		t.Errorf("servers %q", got)
	}
	if got := strings.Join(out.AllowedTools, " "); got != "mcp__ce_echo mcp__ce_waiter mcp__github mcp__zeta" {
		t.Errorf("allowed tools %q", got)
	}
	if out.SystemPrompt != "Wait for people.\n\nThe ce_echo tools echo text." {
		t.Errorf("system prompt %q", out.SystemPrompt)
	}
	if len(out.Skipped) != 1 || !strings.HasPrefix(out.Skipped[0], `unknown extension "nosuch" in enabled (built in: `) {
		t.Errorf("skipped %q", out.Skipped)
	}
	for i := range 20 {
		again, err := Build(in)
		if err != nil || string(again.JSON) != string(out.JSON) {
			t.Fatalf("build %d differs: %v\n%s", i, err, again.JSON)
		}
	}
}

// TestCEServerEnv: a ce server gets the three CE_ variables and nothing
// else, whatever the agent's environment holds.
func TestCEServerEnv(t *testing.T) {
	in := input(t, "echo")
	in.Config.Agent.Env = map[string]string{"SECRET": "x"}
	f := buildFile(t, in)
	keys := slices.Sorted(maps.Keys(f.MCPServers["ce_echo"].Env))
	if !slices.Equal(keys, []string{EnvBridgeSocket, EnvSession, EnvStateDir}) {
		t.Errorf("env %v", f.MCPServers["ce_echo"].Env)
	}
}

func TestBuildAllowlist(t *testing.T) {
	in := input(t, "echo", "waiter")
	in.Template = template.Template{Name: "reviewer", RestrictMCP: true, MCP: []string{"ce_echo", "zeta", "ce_memory"}}
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out.Servers, " "); got != "ce_echo zeta" {
		t.Errorf("servers %q", got)
	}
	want := []string{"ce_waiter: not allowed by template reviewer", "github: not allowed by template reviewer"}
	if !slices.Equal(out.Skipped, want) {
		t.Errorf("skipped %q, want %q", out.Skipped, want)
	}
	if strings.Contains(out.SystemPrompt, "Wait") || strings.Contains(string(out.JSON), "waiter") {
		t.Errorf("a left-out extension leaked its prompt or server:\n%s\n%s", out.SystemPrompt, out.JSON)
	}

	// an empty allowlist allows nothing, even servers enabled later
	in.Template = template.Template{RestrictMCP: true}
	in.Config.Enabled = append(in.Config.Enabled, "daemononly")
	out, err = Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.JSON) != "{\n  \"mcpServers\": {}\n}\n" || len(out.Servers) != 0 || len(out.AllowedTools) != 0 || out.SystemPrompt != "" {
		t.Errorf("restricted to none: %s %v %v %q", out.JSON, out.Servers, out.AllowedTools, out.SystemPrompt)
	}
	if len(out.Skipped) != 4 || out.Skipped[0] != "ce_echo: not allowed by the session's template" {
		t.Errorf("skipped %q", out.Skipped)
	}
}

func TestBuildGateway(t *testing.T) {
	in := input(t, "echo")
	in.Config.MCP.Gateway = true
	in.MCPCommand = []string{"/usr/bin/env", "CE_DEBUG=1", "/bin/ce-mcp"}
	f := buildFile(t, in)
	s := f.MCPServers["ce_echo"]
	if s.Command != "/usr/bin/env" || strings.Join(s.Args, " ") != "CE_DEBUG=1 /bin/ce-mcp serve --gateway echo" {
		t.Errorf("server %+v", s)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build(Input{}); err == nil {
		t.Error("no config")
	}
	in := input(t, "echo")
	in.MCPCommand = nil
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), "ce-mcp command") {
		t.Errorf("no command: %v", err)
	}
	// user servers alone need neither
	in = input(t)
	in.MCPCommand, in.State = nil, nil
	if out, err := Build(in); err != nil || len(out.Servers) != 2 {
		t.Errorf("user servers only: %v %v", out.Servers, err)
	}
}

func TestCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := Command(); err == nil || !strings.Contains(err.Error(), "ce-mcp not found") {
		t.Errorf("no ce-mcp: %v", err)
	}
	p := filepath.Join(dir, "ce-mcp")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", ".:"+dir)
	t.Chdir(t.TempDir())
	if cmd, err := Command(); err != nil || len(cmd) != 1 || cmd[0] != p {
		t.Errorf("found %v %v", cmd, err)
	}
}

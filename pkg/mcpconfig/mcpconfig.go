// Package mcpconfig builds what a run of claude gets from ce's extensions:
// the --mcp-config file (one `ce-mcp serve <ext>` server per enabled
// extension, plus the user's own servers from config), the --allowedTools
// entries that pre-approve those servers, and the extensions' system prompt
// fragments. A session's template decides which servers it may have, and
// the decision is fail-closed: a server its allowlist does not name is left
// out, with a note saying why.
//
// The mcp.json shape and the CE_ variables a ce server gets are a contract
// with ce-mcp; the Go API is implementation.
package mcpconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/binpath"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	_ "github.com/ce-platform/ce/pkg/ext/builtin" // every run sees every built-in extension
	"github.com/ce-platform/ce/pkg/extmanifest"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/template"
)

// The environment of a ce server: all it needs to find the session, the
// state and the broker. Nothing secret is passed.
const (
	EnvSession      = "CE_SESSION"
	EnvStateDir     = statedir.EnvVar
	EnvBridgeSocket = "CE_BRIDGE_SOCKET"
	EnvConfig       = "CE_CONFIG"
)

// Input is what Build works from.
type Input struct {
	Config *config.Config
	// Template is the session's merged template; its MCP allowlist is
	// applied to every server.
	Template template.Template
	Session  string
	State    *statedir.Dir
	// MCPCommand starts ce-mcp (an absolute path first); see Command.
	MCPCommand []string
	// ConfigPath, when set, is passed to ce's servers as CE_CONFIG.
	ConfigPath string
}

// Output is what a run gets.
type Output struct {
	// JSON is the --mcp-config file: indented, keys sorted.
	JSON []byte
	// Servers are the names of the servers in JSON, sorted.
	Servers []string
	// AllowedTools pre-approve every tool of those servers, one
	// "mcp__<server>" entry each, in the order of Servers.
	AllowedTools []string
	// SystemPrompt joins the prompt fragments of the included extensions,
	// in the order of config's enabled list.
	SystemPrompt string
	// Skipped says, for people, what was left out and why.
	Skipped []string
}

// File is the --mcp-config document.
type File struct {
	MCPServers map[string]Server `json:"mcpServers"`
}

// Server is one stdio server entry of the document.
type Server struct {
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
	// Timeout is claude's hard limit on one tool call, in milliseconds;
	// zero leaves claude's default.
	Timeout int64 `json:"timeout,omitempty"`
}

// ToolPrefix starts the name of every MCP tool in claude
// (mcp__<server>__<tool>); "mcp__<server>" alone allows a whole server.
const ToolPrefix = "mcp__"

// Build returns the MCP servers, allowed tools and prompt for a run of
// the session.
func Build(in Input) (Output, error) {
	if in.Config == nil {
		return Output{}, errors.New("mcpconfig: no configuration")
	}
	b := &builder{in: in, servers: map[string]Server{}}
	for _, name := range in.Config.Enabled {
		e, ok := ext.Lookup(name)
		if !ok {
			b.external(name)
			continue
		}
		if err := b.builtin(e); err != nil {
			return Output{}, err
		}
	}
	b.userServers()
	return b.output()
}

// builder gathers what a run gets, extension by extension.
type builder struct {
	in      Input
	servers map[string]Server
	prompts []string
	skipped []string
}

// allows reports whether the session's template allows server, noting
// why it is left out when not.
func (b *builder) allows(server string) bool {
	if b.in.Template.AllowsServer(server) {
		return true
	}
	b.skipped = append(b.skipped, server+": "+notAllowed(b.in.Template))
	return false
}

// external adds a third-party extension, ce-ext-NAME on PATH, as its
// manifest says; one that cannot be loaded is noted and left out.
func (b *builder) external(name string) {
	in := b.in
	m, err := extmanifest.Load(context.Background(), name)
	if err != nil {
		if errors.Is(err, extmanifest.ErrNotFound) {
			b.skipped = append(b.skipped, fmt.Sprintf("unknown extension %q in enabled (built in: %s; or install %s%s on PATH)", name, strings.Join(ext.Names(), ", "), extmanifest.Prefix, name))
		} else {
			b.skipped = append(b.skipped, fmt.Sprintf("extension %q: %v", name, err))
		}
		return
	}
	if len(m.MCP) == 0 {
		return
	}
	server := ext.ServerPrefix + name
	if !b.allows(server) {
		return
	}
	env := map[string]string{EnvSession: in.Session}
	if in.State != nil {
		env[EnvStateDir], env[EnvBridgeSocket] = in.State.Root, in.State.BridgeSocket()
	}
	b.servers[server] = Server{Command: m.MCP[0], Args: append([]string{}, m.MCP[1:]...), Env: env, Timeout: m.TimeoutMS}
	if p := strings.TrimSpace(m.Prompt); p != "" {
		b.prompts = append(b.prompts, p)
	}
}

// builtin adds a built-in extension with tools as a `ce-mcp serve <ext>`
// server, with its prompt.
func (b *builder) builtin(e *ext.Extension) error {
	in := b.in
	if len(e.Tools) == 0 {
		return nil
	}
	server := e.Server()
	if !b.allows(server) {
		return nil
	}
	if len(in.MCPCommand) == 0 || in.State == nil {
		return errors.New("mcpconfig: the ce-mcp command and the state directory are needed for ce's servers")
	}
	args := append(append([]string(nil), in.MCPCommand[1:]...), "serve")
	if in.Config.MCP.Gateway {
		args = append(args, "--gateway")
	}
	env := map[string]string{
		EnvSession:      in.Session,
		EnvStateDir:     in.State.Root,
		EnvBridgeSocket: in.State.BridgeSocket(),
	}
	if in.ConfigPath != "" {
		// claude's own environment has ce's variables cleaned out.
		env[EnvConfig] = in.ConfigPath
	}
	b.servers[server] = Server{
		Command: in.MCPCommand[0],
		Args:    append(args, e.Name),
		Env:     env,
		Timeout: e.Timeout.Milliseconds(),
	}
	p := strings.TrimSpace(e.Prompt)
	if e.PromptFunc != nil {
		extra := e.PromptFunc(context.Background(), ext.Env{State: in.State, Config: in.Config, Session: in.Session})
		p = strings.TrimSpace(p + "\n\n" + strings.TrimSpace(extra))
	}
	if p != "" {
		b.prompts = append(b.prompts, p)
	}
	return nil
}

// userServers adds the user's own servers from config, unless one takes
// the name of one of ce's.
func (b *builder) userServers() {
	for _, name := range sortedKeys(b.in.Config.MCP.Servers) {
		s := b.in.Config.MCP.Servers[name]
		if _, clash := b.servers[name]; clash {
			b.skipped = append(b.skipped, name+": the name of one of ce's servers")
			continue
		}
		if !b.allows(name) {
			continue
		}
		entry := Server{Command: s.Command, Args: append([]string{}, s.Args...), Timeout: time.Duration(s.Timeout).Milliseconds()}
		if len(s.Env) > 0 {
			entry.Env = s.Env
		}
		b.servers[name] = entry
	}
}

// output writes the --mcp-config file and the rest of the run's Output.
func (b *builder) output() (Output, error) {
	j, err := json.MarshalIndent(File{MCPServers: b.servers}, "", "  ")
	if err != nil {
		return Output{}, fmt.Errorf("mcpconfig: %w", err)
	}
	out := Output{JSON: append(j, '\n'), Servers: sortedKeys(b.servers), Skipped: b.skipped}
	for _, s := range out.Servers {
		out.AllowedTools = append(out.AllowedTools, ToolPrefix+s)
	}
	out.SystemPrompt = strings.Join(b.prompts, "\n\n")
	return out, nil
}

func notAllowed(t template.Template) string {
	if t.Name == "" {
		return "not allowed by the session's template"
	}
	return "not allowed by template " + t.Name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Command is the command line of ce-mcp, found beside the running program
// or on PATH (absolute: claude starts it from the session's directory).
func Command() ([]string, error) {
	p, err := binpath.Find("ce-mcp")
	if err != nil {
		return nil, err
	}
	return []string{p}, nil
}

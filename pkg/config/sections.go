package config

import (
	"fmt"
	"strings"

	"github.com/ce-platform/ce/pkg/text"
)

// Enabled lists the extensions that are on: their MCP servers are given to
// runs, their daemons started by ce up, their prompt fragments included.
type Enabled []string

// DefaultEnabled is the list used when the config says nothing.
var DefaultEnabled = []string{"ask", "sessions", "memory", "vault", "cron"}

func (e *Enabled) setDefaults() { *e = append(Enabled(nil), DefaultEnabled...) }

func (e *Enabled) validate(v *validator) {
	seen := map[string]bool{}
	for i, n := range *e {
		key := fmt.Sprintf("[%d]", i)
		switch {
		case !text.IsLowerName(n):
			v.fail(key, "extension names are lower-case letters, digits, '-' and '_', got %q", n)
		case seen[n]:
			v.fail(key, "%q is listed twice", n)
		}
		seen[n] = true
	}
}

// Has reports whether the named extension is enabled.
func (e Enabled) Has(name string) bool {
	for _, n := range e {
		if n == name {
			return true
		}
	}
	return false
}

// MCP configures the MCP servers runs get.
type MCP struct {
	// Gateway folds each server's tools into one tool with an "action".
	Gateway bool `yaml:"gateway"`
	// Servers are the user's own MCP servers, injected like ce's.
	Servers map[string]MCPServer `yaml:"servers"`
}

// MCPServer is one user MCP server (stdio).
type MCPServer struct {
	Command string            `yaml:"command"`
	Args    []string          `yaml:"args"`
	Env     map[string]string `yaml:"env"`
	// Timeout is claude's limit for one tool call of this server.
	Timeout Duration `yaml:"timeout"`
}

func (m *MCP) setDefaults() { m.Servers = map[string]MCPServer{} }

func (m *MCP) validate(v *validator) {
	for _, name := range sortedKeys(m.Servers) {
		s := m.Servers[name]
		key := "servers." + name
		switch {
		case !text.IsName(name, "_-", 1, 0):
			v.fail(key, "server names use letters, digits, '-' and '_'")
		case strings.HasPrefix(name, "ce_"):
			v.fail(key, "names starting with ce_ are ce's own servers; pick another name")
		case s.Command == "":
			v.fail(key+".command", "must not be empty")
		}
		v.durationAtLeast(key+".timeout", s.Timeout, 0)
	}
}

// Template is a user template: a named set of session settings.
type Template struct {
	Model           string   `yaml:"model"`
	SystemPrompt    string   `yaml:"system_prompt"`
	AllowedTools    []string `yaml:"allowed_tools"`
	DisallowedTools []string `yaml:"disallowed_tools"`
	// MCP, when set, is the allowlist of MCP servers (by server name, e.g.
	// ce_memory); servers it does not name are never given. An empty list
	// allows none. Unset allows every enabled server.
	MCP *[]string `yaml:"mcp"`
	Dir string    `yaml:"dir"`
}

// Templates are the user templates by name; they override built-in ones
// of the same name.
type Templates map[string]Template

func (t *Templates) setDefaults() { *t = Templates{} }

func (t *Templates) validate(v *validator) {
	for _, name := range sortedKeys(*t) {
		tp := (*t)[name]
		if !text.IsName(name, "_-", 1, 0) {
			v.fail(name, "template names use letters, digits, '-' and '_'")
		}
		if tp.Dir != "" && !strings.HasPrefix(tp.Dir, "/") {
			v.fail(name+".dir", "must be an absolute path, got %q", tp.Dir)
		}
	}
}

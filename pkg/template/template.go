// Package template provides session templates: named sets of model, system
// prompt, allowed and disallowed tools, MCP allowlist and working directory.
// Built-in templates (coder, reviewer, researcher) can be overridden by user
// templates from config. Templates merge by fixed rules: system prompts
// concatenate, denials union, allowlists intersect, scalars take the later
// value. MCP allowlists are fail-closed: a server an allowlist does not name
// is never given, whatever is enabled later.
package template

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/session"
)

// Template is a resolved template.
type Template struct {
	Name            string
	Model           string
	SystemPrompt    string
	AllowedTools    []string
	DisallowedTools []string
	// MCP is the allowlist of MCP server names when RestrictMCP is set; an
	// empty allowlist allows none.
	MCP         []string
	RestrictMCP bool
	Dir         string
}

// ErrUnknown is returned for a template name that is neither built in nor
// in the config.
var ErrUnknown = errors.New("unknown template")

// readOnlyDenied are the tools that change files.
var readOnlyDenied = []string{"Write", "Edit", "MultiEdit", "NotebookEdit"}

// Builtins returns the built-in templates.
func Builtins() map[string]Template {
	return map[string]Template{
		"coder": {
			Name:         "coder",
			SystemPrompt: "You are a careful software engineer working in this repository. Make focused changes, run the tests, and report what you changed.",
		},
		"reviewer": {
			Name:            "reviewer",
			SystemPrompt:    "You review code and do not change files. Read, search and run read-only commands; report findings with file and line references.",
			DisallowedTools: slices.Clone(readOnlyDenied),
		},
		"researcher": {
			Name:            "researcher",
			SystemPrompt:    "You research questions: read, search and summarise with sources. You do not change files.",
			DisallowedTools: slices.Clone(readOnlyDenied),
		},
	}
}

// Lookup resolves a template name: a user template from config, else a
// built-in one.
func Lookup(cfg *config.Config, name string) (Template, error) {
	if t, ok := cfg.Templates[name]; ok {
		out := Template{
			Name: name, Model: t.Model, SystemPrompt: t.SystemPrompt,
			AllowedTools: slices.Clone(t.AllowedTools), DisallowedTools: slices.Clone(t.DisallowedTools), Dir: t.Dir,
		}
		if t.MCP != nil {
			out.RestrictMCP, out.MCP = true, slices.Clone(*t.MCP)
		}
		return out, nil
	}
	if t, ok := Builtins()[name]; ok {
		return t, nil
	}
	return Template{}, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(cfg), ", "))
}

// Names lists every template name, built-in and from config, sorted.
func Names(cfg *config.Config) []string {
	seen := map[string]bool{}
	for n := range Builtins() {
		seen[n] = true
	}
	for n := range cfg.Templates {
		seen[n] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Merge combines templates in order: system prompts concatenate, denials
// union, allowlists (allowed tools, MCP servers) intersect, and the later
// non-empty model, directory and name win.
func Merge(ts ...Template) Template {
	var out Template
	allowedSet := false
	for _, t := range ts {
		if t.Name != "" {
			out.Name = t.Name
		}
		if t.Model != "" {
			out.Model = t.Model
		}
		if t.Dir != "" {
			out.Dir = t.Dir
		}
		if p := strings.TrimSpace(t.SystemPrompt); p != "" {
			if out.SystemPrompt != "" {
				out.SystemPrompt += "\n\n"
			}
			out.SystemPrompt += p
		}
		out.DisallowedTools = union(out.DisallowedTools, t.DisallowedTools)
		if len(t.AllowedTools) > 0 {
			if allowedSet {
				out.AllowedTools = intersect(out.AllowedTools, t.AllowedTools)
			} else {
				out.AllowedTools, allowedSet = slices.Clone(t.AllowedTools), true
			}
		}
		if t.RestrictMCP {
			if out.RestrictMCP {
				out.MCP = intersect(out.MCP, t.MCP)
			} else {
				out.RestrictMCP, out.MCP = true, slices.Clone(t.MCP)
			}
		}
	}
	return out
}

// AllowsServer reports whether a run with this template may get the MCP
// server.
func (t Template) AllowsServer(server string) bool {
	return !t.RestrictMCP || slices.Contains(t.MCP, server)
}

// ForSession resolves the template of a session, merged with the session's
// own settings. A session whose template has vanished from the config gets
// no MCP servers at all (fail-closed); the warning says why.
func ForSession(cfg *config.Config, rec session.Record) (Template, []string, error) {
	own := Template{Model: rec.Model}
	if rec.Template == "" {
		return Merge(own), nil, nil
	}
	t, err := Lookup(cfg, rec.Template)
	if errors.Is(err, ErrUnknown) {
		warn := fmt.Sprintf("session %s: template %q no longer exists; running with no MCP servers", rec.Name, rec.Template)
		return Merge(Template{Name: rec.Template, RestrictMCP: true}, own), []string{warn}, nil
	}
	if err != nil {
		return Template{}, nil, err
	}
	return Merge(t, own), nil, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

package template

import (
	"errors"
	"slices"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/session"
)

func TestMergeRules(t *testing.T) {
	a := Template{Name: "a", Model: "opus", SystemPrompt: "one", DisallowedTools: []string{"Write"},
		AllowedTools: []string{"Read", "Grep", "Bash"}, RestrictMCP: true, MCP: []string{"ce_ask", "ce_memory"}}
	b := Template{Name: "b", SystemPrompt: "two", DisallowedTools: []string{"Edit", "Write"},
		AllowedTools: []string{"Read", "Bash"}, RestrictMCP: true, MCP: []string{"ce_memory", "github"}}
	m := Merge(a, b)
	if m.SystemPrompt != "one\n\ntwo" {
		t.Errorf("prompts: %q", m.SystemPrompt)
	}
	if !slices.Equal(m.DisallowedTools, []string{"Write", "Edit"}) {
		t.Errorf("denials union: %v", m.DisallowedTools)
	}
	if !slices.Equal(m.AllowedTools, []string{"Read", "Bash"}) {
		t.Errorf("allowed intersect: %v", m.AllowedTools)
	}
	if !m.RestrictMCP || !slices.Equal(m.MCP, []string{"ce_memory"}) {
		t.Errorf("mcp intersect: %v %v", m.RestrictMCP, m.MCP)
	}
	if m.Model != "opus" || m.Name != "b" {
		t.Errorf("scalars: %q %q", m.Model, m.Name)
	}
	// An unrestricted template does not widen a restricted one.
	if w := Merge(a, Template{Name: "open"}); !w.RestrictMCP || !slices.Equal(w.MCP, a.MCP) {
		t.Errorf("unrestricted widened: %v", w.MCP)
	}
	// Intersection can be empty: nothing is allowed then.
	e := Merge(Template{RestrictMCP: true, MCP: []string{"x"}}, Template{RestrictMCP: true, MCP: []string{"y"}})
	if !e.RestrictMCP || len(e.MCP) != 0 || e.AllowsServer("x") || e.AllowsServer("y") {
		t.Errorf("empty intersection allows: %v", e.MCP)
	}
}

func TestAllowsServerFailsClosed(t *testing.T) {
	open := Template{}
	if !open.AllowsServer("anything") {
		t.Error("an unrestricted template refused a server")
	}
	r := Template{RestrictMCP: true, MCP: []string{"ce_memory"}}
	if r.AllowsServer("ce_cron") || !r.AllowsServer("ce_memory") {
		t.Error("allowlist not applied")
	}
	none := Template{RestrictMCP: true, MCP: []string{}}
	if none.AllowsServer("ce_ask") {
		t.Error("an empty allowlist allowed a server")
	}
}

func TestLookupAndForSession(t *testing.T) {
	cfg := config.Default()
	mcp := []string{"ce_ask"}
	cfg.Templates = config.Templates{
		"docs":     {Model: "sonnet", SystemPrompt: "docs only", MCP: &mcp},
		"reviewer": {SystemPrompt: "my own reviewer"},
	}
	r, err := Lookup(cfg, "reviewer")
	if err != nil || r.SystemPrompt != "my own reviewer" {
		t.Fatalf("user template does not override built-in: %+v %v", r, err)
	}
	if _, err := Lookup(cfg, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("unknown: %v", err)
	}
	b := Builtins()["reviewer"]
	if !slices.Contains(b.DisallowedTools, "Write") || !slices.Contains(b.DisallowedTools, "Edit") {
		t.Fatalf("built-in reviewer may write: %v", b.DisallowedTools)
	}
	tp, warns, err := ForSession(cfg, session.Record{Name: "s", Template: "docs", Model: "haiku"})
	if err != nil || len(warns) != 0 || tp.Model != "haiku" || !tp.AllowsServer("ce_ask") || tp.AllowsServer("ce_sessions") {
		t.Fatalf("ForSession docs: %+v %v %v", tp, warns, err)
	}
	tp, warns, err = ForSession(cfg, session.Record{Name: "s", Template: "vanished"})
	if err != nil || len(warns) != 1 || tp.AllowsServer("ce_ask") {
		t.Fatalf("vanished template must run with no MCP servers: %+v %v %v", tp, warns, err)
	}
}

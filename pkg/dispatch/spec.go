package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"

	"github.com/ce-platform/ce/pkg/config"
	_ "github.com/ce-platform/ce/pkg/ext/builtin" // the extensions whose servers runs get
	"github.com/ce-platform/ce/pkg/mcpconfig"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/template"
)

// Files a run directory gets besides the request.
const (
	MCPConfigFile    = "mcp.json"
	SystemPromptFile = "system-prompt"
)

// Spec is everything a run of a session is started with.
type Spec struct {
	Argv []string
	// Fingerprint identifies the command line apart from the conversation
	// flags and file paths: a warm claude is reused only for an equal one.
	Fingerprint  string
	MCPConfig    []byte
	SystemPrompt string
	Warnings     []string
}

// Spec resolves the command line of the next run of rec: agent settings,
// the session's template (model, system prompt, tools), and its MCP servers.
func (d *Driver) Spec(rec session.Record, rd rundir.Dir, warm bool) (Spec, error) {
	return BuildSpec(d.Config, d.ConfigPath, d.State, rec, rd, warm)
}

// BuildSpec is Spec without a driver.
func BuildSpec(cfg *config.Config, cfgPath string, st *statedir.Dir, rec session.Record, rd rundir.Dir, warm bool) (Spec, error) {
	var sp Spec
	tmpl, warns, err := template.ForSession(cfg, rec)
	if err != nil {
		return sp, err
	}
	sp.Warnings = warns
	mcpCmd, err := mcpconfig.Command()
	if err != nil {
		return sp, err
	}
	mcp, err := mcpconfig.Build(mcpconfig.Input{Config: cfg, Template: tmpl, Session: rec.Name, State: st, MCPCommand: mcpCmd, ConfigPath: cfgPath})
	if err != nil {
		return sp, err
	}
	sp.MCPConfig = mcp.JSON
	sp.Warnings = append(sp.Warnings, mcp.Skipped...)
	a := cfg.Agent
	argv := []string{a.Command, "-p", "--output-format", "stream-json", "--verbose"}
	if warm {
		argv = append(argv, "--input-format", "stream-json")
	}
	model := tmpl.Model
	if model == "" {
		model = a.Model
	}
	if model != "" {
		argv = append(argv, "--model", model)
	}
	if a.PermissionMode != "" {
		argv = append(argv, "--permission-mode", a.PermissionMode)
	}
	if a.MaxTurns > 0 {
		argv = append(argv, "--max-turns", strconv.Itoa(a.MaxTurns))
	}
	sp.SystemPrompt = joinPrompts(tmpl.SystemPrompt, mcp.SystemPrompt)
	// Only the servers this session may use are in its config (strict), and
	// their tools are pre-approved.
	argv = append(argv, "--mcp-config", rd.Path(MCPConfigFile), "--strict-mcp-config")
	allowed := append(append([]string(nil), tmpl.AllowedTools...), mcp.AllowedTools...)
	if len(allowed) > 0 {
		argv = append(argv, "--allowedTools", strings.Join(allowed, ","))
	}
	if len(tmpl.DisallowedTools) > 0 {
		argv = append(argv, "--disallowedTools", strings.Join(tmpl.DisallowedTools, ","))
	}
	if sp.SystemPrompt != "" {
		argv = append(argv, "--append-system-prompt", sp.SystemPrompt)
	}
	argv = append(argv, a.Args...)
	h := sha256.New()
	for _, s := range append(argv, rec.Dir, string(sp.MCPConfig)) {
		if s == rd.Path(MCPConfigFile) {
			continue // a path of this run; its content counts
		}
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sp.Fingerprint = hex.EncodeToString(h.Sum(nil)[:8])
	if rec.Started {
		argv = append(argv, "--resume", rec.ClaudeSessionID)
	} else {
		argv = append(argv, "--session-id", rec.ClaudeSessionID)
	}
	sp.Argv = argv
	return sp, nil
}

func joinPrompts(ps ...string) string {
	var out []string
	for _, p := range ps {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

// writeFiles writes the run's MCP config and system prompt for people and
// scripts to read (the command line carries the prompt itself).
func (sp Spec) writeFiles(rd rundir.Dir) error {
	if sp.MCPConfig != nil {
		if err := os.WriteFile(rd.Path(MCPConfigFile), sp.MCPConfig, 0o600); err != nil {
			return err
		}
	}
	if sp.SystemPrompt != "" {
		return os.WriteFile(rd.Path(SystemPromptFile), []byte(sp.SystemPrompt), 0o600)
	}
	return nil
}

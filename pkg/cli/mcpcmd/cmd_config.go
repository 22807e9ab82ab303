package mcpcmd

import (
	"encoding/json"
	"errors"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/mcpconfig"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
)

// ConfigCmd prints a session's mcp.json.
type ConfigCmd struct {
	Session string `arg:"" help:"Session name."`
	JSON    bool   `name:"json" help:"Print everything the run gets as one JSON object: mcp_config, servers, allowed_tools, system_prompt, skipped."`
}

// configJSON is the output of config --json.
type configJSON struct {
	MCPConfig    json.RawMessage `json:"mcp_config"`
	Servers      []string        `json:"servers"`
	AllowedTools []string        `json:"allowed_tools"`
	SystemPrompt string          `json:"system_prompt"`
	Skipped      []string        `json:"skipped"`
}

// Run prints the file; what was left out, and why, goes to stderr.
func (c *ConfigCmd) Run(env *clikit.Env) error {
	if err := session.ValidName(c.Session); err != nil {
		return clikit.Usage("session names use letters, digits, '-' and '_'", "%v", err)
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	rec, err := session.Open(st).Get(env.Ctx, c.Session)
	if errors.Is(err, session.ErrNotFound) {
		return clikit.Fail("ce-session ls lists sessions", "no session %q", c.Session)
	}
	if err != nil {
		return err
	}
	tmpl, warns, err := template.ForSession(cfg, rec)
	if err != nil {
		return clikit.WithHint(clikit.ExitUsage, err, "fix the session's template in the config")
	}
	for _, w := range warns {
		env.Warnf("%s", w)
	}
	cmd, err := mcpconfig.Command()
	if err != nil {
		return clikit.WithHint(clikit.ExitFailure, err, "")
	}
	out, err := mcpconfig.Build(mcpconfig.Input{Config: cfg, Template: tmpl, Session: rec.Name, State: st, MCPCommand: cmd, ConfigPath: env.ConfigPath()})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(configJSON{
			MCPConfig: json.RawMessage(out.JSON), Servers: nonNil(out.Servers), AllowedTools: nonNil(out.AllowedTools),
			SystemPrompt: out.SystemPrompt, Skipped: nonNil(out.Skipped),
		})
	}
	for _, s := range out.Skipped {
		env.Warnf("%s", s)
	}
	_, err = env.Stdout.Write(out.JSON)
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package sessioncmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/template"
)

// NewCmd creates a session.
type NewCmd struct {
	Name     string `arg:"" help:"Session name: letters, digits, '-' and '_', at most 64."`
	User     string `help:"Owner of the session; each user has sessions.max_per_user slots (default: your login name)."`
	Dir      string `help:"Working directory of the session (default sessions.default_dir, else the current directory)." type:"path"`
	Model    string `help:"Model for this session (default: the template's, else agent.model)."`
	Template string `help:"Template: coder, reviewer, researcher or one from config (model, system prompt, tools, MCP allowlist, directory)."`
	JSON     bool   `name:"json" help:"Print the session record as JSON."`
}

// Run creates the record and the tmux session with its runner.
func (c *NewCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	rec, err := d.CreateSession(env.Ctx, platform.NewSession{
		Name: c.Name, User: c.User, Dir: c.Dir, Fallback: cwd, Model: c.Model, Template: c.Template,
	})
	if errors.Is(err, template.ErrUnknown) {
		return clikit.Usage("define it under templates: in the config, or pick a known one", "%v", err)
	}
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(rec)
	}
	fmt.Fprintf(env.Stdout, "created session %s (user %s, slot %d) in %s\n", rec.Name, rec.User, rec.Slot, rec.Dir)
	return nil
}

package sessioncmd

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// AttachCmd attaches a terminal to the session's tmux session.
type AttachCmd struct {
	Name string `arg:"" help:"Session name."`
}

// Run execs tmux attach; detach with the tmux prefix key and d.
func (c *AttachCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	rec, err := d.Record(env.Ctx, c.Name)
	if err != nil {
		return err
	}
	if !clikit.IsTerminal(env.Stdin) {
		return clikit.Usage("run it from a terminal", "attach needs a terminal")
	}
	if !d.RunnerAlive(env.Ctx, c.Name) {
		if err := d.StartRunner(env.Ctx, rec); err != nil {
			return err
		}
	}
	cmd := d.Tmux.AttachCommand(c.Name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

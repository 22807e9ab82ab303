package sessioncmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// StopCmd interrupts the running prompt.
type StopCmd struct {
	Name  string `arg:"" help:"Session name."`
	Clear bool   `help:"Also cancel the session's queued prompts."`
}

// Run stops the run; its partial output stays in the run directory.
func (c *StopCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	stopped, n, err := d.Stop(env.Ctx, c.Name, c.Clear)
	if err != nil {
		return err
	}
	if stopped {
		fmt.Fprintf(env.Stdout, "stopped the running prompt of %s\n", c.Name)
	} else {
		fmt.Fprintf(env.Stdout, "%s had no running prompt\n", c.Name)
	}
	if c.Clear {
		fmt.Fprintf(env.Stdout, "cancelled %d queued prompts\n", n)
	}
	return nil
}

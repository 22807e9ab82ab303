package sessioncmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/platform"
)

// RmCmd removes a session.
type RmCmd struct {
	Name  string `arg:"" help:"Session name."`
	Force bool   `help:"Remove a busy session too, stopping its run."`
}

// Run stops the session's tmux session and removes its records and runs.
func (c *RmCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	if err := d.Remove(env.Ctx, c.Name, platform.Removal{Force: c.Force}); err != nil {
		return busyHint(err, "wait for it, stop it with ce-session stop "+c.Name+", or pass --force")
	}
	fmt.Fprintf(env.Stdout, "removed session %s\n", c.Name)
	return nil
}

// busyHint gives a *platform.BusyError the command's own hint.
func busyHint(err error, hint string) error {
	if be, ok := err.(*platform.BusyError); ok {
		return clikit.WithHint(clikit.ExitFailure, be, hint)
	}
	return err
}

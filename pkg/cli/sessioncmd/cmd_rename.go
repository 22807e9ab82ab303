package sessioncmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// RenameCmd renames a session.
type RenameCmd struct {
	Old string `arg:"" help:"Current name."`
	New string `arg:"" help:"New name."`
}

// Run renames an idle session: its records, runs and tmux session.
func (c *RenameCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	if _, err := d.Rename(env.Ctx, c.Old, c.New); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "renamed session %s to %s\n", c.Old, c.New)
	return nil
}

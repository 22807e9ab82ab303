package queuecmd

import (
	"os"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// TickCmd does one round.
type TickCmd struct {
	Drain bool `help:"Run every runnable item, not one per session."`
}

// Run does one round and reports how many sessions it drove.
func (c *TickCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	start := time.Now()
	n, err := d.Tick(env.Ctx, c.Drain)
	if err != nil {
		return err
	}
	if clikit.IsTerminal(os.Stderr) {
		env.Infof("drove %d sessions in %s", n, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

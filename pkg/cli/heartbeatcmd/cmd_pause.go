package heartbeatcmd

import (
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// PauseCmd turns the pause switch on.
type PauseCmd struct {
	For    time.Duration `name:"for" placeholder:"DURATION" help:"Resume by itself after this long (e.g. 2h); without it the pause lasts until resume."`
	Reason string        `help:"Why, shown by status."`
}

// Run pauses.
func (c *PauseCmd) Run(env *clikit.Env) error {
	if c.For < 0 {
		return clikit.Usage("pass a positive duration such as 2h", "--for must not be negative, got %s", c.For)
	}
	e, err := open(env)
	if err != nil {
		return err
	}
	st, err := e.Pause(env.Ctx, c.For, c.Reason, "cli")
	if err != nil {
		return err
	}
	if st.PausedUntil.IsZero() {
		fmt.Fprintln(env.Stdout, "paused until ce-heartbeat resume")
	} else {
		fmt.Fprintf(env.Stdout, "paused until %s\n", when(st.PausedUntil, e.Now()))
	}
	return nil
}

package heartbeatcmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
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

// ResumeCmd clears the pause.
type ResumeCmd struct{}

// Help is the long help of resume.
func (c *ResumeCmd) Help() string {
	return "Turns the pause switch off and, as a person says the cause is fixed, also clears a pause after an " +
		"authentication or billing error and the circuit breaker. (The heartbeat_resume tool of sessions only turns " +
		"the switch off.)"
}

// Run resumes.
func (c *ResumeCmd) Run(env *clikit.Env) error {
	e, err := open(env)
	if err != nil {
		return err
	}
	_, cleared, err := e.Resume(env.Ctx, heartbeat.ResumeOptions{Safety: true, By: "cli"})
	if err != nil {
		return err
	}
	if len(cleared) == 0 {
		fmt.Fprintln(env.Stdout, "not paused: nothing to resume")
		return nil
	}
	fmt.Fprintf(env.Stdout, "resumed (cleared: %s)\n", strings.Join(cleared, ", "))
	return nil
}

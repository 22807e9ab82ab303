package heartbeatcmd

import (
	"fmt"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// ResumeCmd clears the pause.
type ResumeCmd struct{}

// Help is the long help of resume.
func (c *ResumeCmd) Help() string {
	return "Turns the pause switch off and, as a person says the cause is fixed, also clears a pause after an " +
		"authentication or billing error and the circuit breaker. (The heartbeat_resume tool of sessions only turns " +
		"the switch off.)"
}

// Run resumes.
func (c *ResumeCmd) Run(env *clikit.Env, e *heartbeat.Engine) error {
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

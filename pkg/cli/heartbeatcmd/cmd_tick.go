package heartbeatcmd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// TickCmd runs one beat.
type TickCmd struct {
	DryRun bool `name:"dry-run" help:"Beat now whatever the schedule, go as far as the decision and report it; queue nothing, change no schedule."`
	JSON   bool `name:"json" help:"Print the beat as one JSON object."`
}

// Help is the long help of tick.
func (c *TickCmd) Help() string {
	return "Runs the beat that is due (by the schedule or a trigger), if any, and exits: " +
		"`*/5 * * * * ce-heartbeat tick` is a valid deployment without serve. Prints the tier the beat reached, its " +
		"outcome and the reason; a beat that is not due yet says when it will be. A failed decision exits 1. " +
		"--dry-run beats at once, stops at a closed valve like any beat, and shows what the decision would do; the " +
		"decision's cost is still counted."
}

// Run beats.
func (c *TickCmd) Run(env *clikit.Env, e *heartbeat.Engine) error {
	b, err := e.Beat(env.Ctx, heartbeat.BeatOptions{IfDue: !c.DryRun, DryRun: c.DryRun})
	return report(env, e, b, err, c.JSON)
}

// report prints a beat, and turns a failed one into an error.
func report(env *clikit.Env, e *heartbeat.Engine, b heartbeat.Beat, err error, asJSON bool) error {
	var beating *heartbeat.ErrBeating
	switch {
	case errors.As(err, &beating):
		return clikit.Fail("wait for it to end; ce-heartbeat log shows the beats", "%v", err)
	case err != nil:
		return err
	}
	if asJSON {
		if err := json.NewEncoder(env.Stdout).Encode(b); err != nil {
			return err
		}
	} else if b.Outcome == heartbeat.OutcomeNotDue {
		fmt.Fprintf(env.Stdout, "not due: the next beat is at %s\n", when(b.Next, e.Now()))
	} else if b.Outcome != heartbeat.OutcomeError {
		fmt.Fprintln(env.Stdout, beatLine(b))
		if !b.Next.IsZero() && b.Outcome != heartbeat.OutcomeBusy {
			fmt.Fprintf(env.Stdout, "next beat: %s\n", when(b.Next, e.Now()))
		}
	}
	if b.Item != "" {
		workerHint(env, b.Item)
	}
	if b.Outcome == heartbeat.OutcomeError {
		hint := "ce-heartbeat log shows the beats; check agent.command and heartbeat.decision_model"
		if b.Tier == heartbeat.TierDecision {
			if st, err := e.Load(env.Ctx); err == nil && st.AuthPaused {
				hint = "fix claude's login or billing (claude auth status), then ce-heartbeat resume"
			}
		}
		return clikit.Fail(hint, "%s", b.Reason)
	}
	return nil
}

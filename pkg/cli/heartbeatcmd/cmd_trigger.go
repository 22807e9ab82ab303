package heartbeatcmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// TriggerCmd asks for a beat.
type TriggerCmd struct {
	Urgency string `enum:"now,normal" default:"normal" help:"normal: at most one interval after the last beat (the stretch dropped), still waiting for min_interval; now: at once, past min_interval."`
	Force   bool   `help:"Pass every valve except an authentication pause, for this one beat (pause, active hours, caps, usage, breaker)."`
	Reason  string `help:"Why, recorded with the beat."`
	JSON    bool   `name:"json" help:"Print the beat (when it ran here) as one JSON object."`
}

// Help is the long help of trigger.
func (c *TriggerCmd) Help() string {
	return "Records a trigger in heartbeat.db. A running ce-heartbeat serve wakes at once and beats when the trigger " +
		"says; without serve, a trigger that is due now beats here, and one that is not waits for the next " +
		"ce-heartbeat tick. Other programs trigger through the broker: the heartbeat.trigger method or topic " +
		"({\"urgency\":\"now\",\"reason\":\"...\"}); sessions with the heartbeat_trigger tool."
}

// Run triggers.
func (c *TriggerCmd) Run(env *clikit.Env, e *heartbeat.Engine) error {
	due, err := e.Trigger(env.Ctx, heartbeat.TriggerRequest{Urgency: c.Urgency, Force: c.Force, Source: "cli", Reason: c.Reason})
	if err != nil {
		return err
	}
	now := e.Now()
	if e.Serving() {
		fmt.Fprintf(env.Stdout, "triggered: ce-heartbeat serve beats at %s\n", when(due, now))
		return nil
	}
	if due.After(now) {
		fmt.Fprintf(env.Stdout, "triggered: the next beat is at %s (no ce-heartbeat serve runs: ce-heartbeat tick beats then)\n", when(due, now))
		return nil
	}
	b, err := e.Beat(env.Ctx, heartbeat.BeatOptions{IfDue: true})
	return report(env, e, b, err, c.JSON)
}

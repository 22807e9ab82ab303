// Package heartbeatcmd is the ce-heartbeat command: the autonomous periodic
// agent of package heartbeat from a shell (status, tick, pause, resume,
// trigger, log) and its daemon (serve). cmd/ce-heartbeat is a one-line
// main around Main.
package heartbeatcmd

import (
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/agentenv"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
	"github.com/ce-platform/ce/pkg/lockfile"
)

// CLI is the command line of ce-heartbeat.
type CLI struct {
	Status  StatusCmd  `cmd:"" help:"Show the next beat, each safety valve, and today's actions and cost."`
	Tick    TickCmd    `cmd:"" help:"Run one beat if one is due, and exit (for system cron or timers)."`
	Serve   ServeCmd   `cmd:"" help:"Run the heartbeat until interrupted: beat when due, wake on triggers."`
	Pause   PauseCmd   `cmd:"" help:"Pause the heartbeat, for a while or until resume."`
	Resume  ResumeCmd  `cmd:"" help:"Resume: clear the pause, an authentication pause and the circuit breaker."`
	Trigger TriggerCmd `cmd:"" help:"Ask for a beat sooner than scheduled."`
	Log     LogCmd     `cmd:"" help:"List recent beats: tier reached, outcome, reason, cost."`

	clikit.Base
}

// App is ce-heartbeat's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce-heartbeat",
		Description: "the autonomous periodic agent, with safety valves\n\n" +
			"Every heartbeat.interval a beat runs three tiers, each stopping it as early as it can: (1) gate, no model " +
			"call: the checklist (heartbeat.instructions, HEARTBEAT.md beside the config by default) and the gate " +
			"commands (exit 0 means something may need attention); an empty checklist and no gate fired end the beat; " +
			"(2) decision: one tool-less claude -p with heartbeat.decision_model answers {\"act\", \"reason\", \"prompt\"} " +
			"as JSON (anything else counts as a skip); (3) action: the prompt is queued in the heartbeat session " +
			"(heartbeat.session, created on first use) for the queue worker. Before the gate the safety valves are " +
			"checked: auth (an authentication or billing error from claude pauses until resume), pause, active hours " +
			"and days, the circuit breaker, usage (the latest rate-limit state), the daily action and cost caps and the " +
			"minimum interval between actions. A beat while the session is busy is skipped and the schedule kept; beats " +
			"that find nothing to do stretch the interval x2, x4, up to x8, and an action resets it. State is in " +
			"heartbeat.db in the state directory; serve logs to logs/heartbeat.log; events go to events.jsonl " +
			"(heartbeat.beat, heartbeat.paused, heartbeat.resumed, heartbeat.breaker, heartbeat.trigger).",
		CLI:     &CLI{},
		Options: []kong.Option{kong.BindSingletonProvider(open)},
	}
}

// Main runs ce-heartbeat and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// open returns the heartbeat engine of the state directory, running the
// decision with claude's environment cleaned as the runner cleans it.
func open(env *clikit.Env) (*heartbeat.Engine, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	st, err := env.State()
	if err != nil {
		return nil, err
	}
	e := heartbeat.New(st, cfg)
	base := os.Environ()
	e.ChildEnv = func() []string { return agentenv.Build(base, e.Config().Agent.Env, e.Config().Agent.EnvPass) }
	e.Log = env.Logger()
	e.Store().OnCorrupt = env.Corrupted
	return e, nil
}

// when formats a time for people: local, with how far away it is.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	s := t.Local().Format("2006-01-02 15:04:05")
	d := t.Sub(now).Round(time.Second)
	switch {
	case d <= 0 && d > -time.Second:
		return s + " (now)"
	case d <= 0:
		return s + " (due)"
	}
	return s + " (in " + short(d) + ")"
}

// short formats a duration without zero units: 29m, 1h30m, 45s.
func short(d time.Duration) string {
	if d >= time.Minute {
		d = d.Round(time.Minute)
	}
	s := d.String()
	if len(s) > 2 && s[len(s)-2:] == "0s" && d >= time.Minute {
		s = s[:len(s)-2]
	}
	if len(s) > 2 && s[len(s)-2:] == "0m" && d >= time.Hour {
		s = s[:len(s)-2]
	}
	return s
}

// workerHint warns when no queue worker would run a queued action.
func workerHint(env *clikit.Env, item string) {
	st, err := env.State()
	if err != nil || lockfile.Held(st.Lock("worker")) {
		return
	}
	env.Warnf("no queue worker serves this state directory: %s waits for ce-queue serve (or ce-queue tick)", item)
}

func beatLine(b heartbeat.Beat) string {
	s := b.Tier + " " + b.Outcome
	if b.DryRun {
		s += " (dry run)"
	}
	return fmt.Sprintf("beat: %s: %s", s, b.Reason)
}

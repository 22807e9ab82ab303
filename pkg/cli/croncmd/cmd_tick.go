package croncmd

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
)

// TickCmd does one round of the scheduler.
type TickCmd struct {
	Verbose bool `short:"v" help:"Print what fired, what was skipped and which fresh sessions were removed."`
}

// Help is the long help of tick.
func (c *TickCmd) Help() string {
	return "Fires every job that is due now once (by its missed-run policy), completes fires left by a scheduler " +
		"that died, removes the fresh sessions whose run is over, and exits: `* * * * * ce-cron tick` in a crontab " +
		"is a complete scheduler. It is safe alongside ce-cron serve and other ticks. It fails when a job could not " +
		"fire (its session is gone, say), so that system cron reports it."
}

// Run ticks once.
func (c *TickCmd) Run(env *clikit.Env) error {
	start := time.Now()
	s, _, err := scheduler(env)
	if err != nil {
		return err
	}
	rep, err := s.Tick(env.Ctx)
	for _, w := range rep.Warnings {
		env.Warnf("%s", w)
	}
	if c.Verbose {
		report(env.Stdout, rep)
	}
	if err != nil {
		return err
	}
	failed := env.Failures()
	for _, f := range rep.Fired {
		if f.State == cronjob.StateError {
			failed.Add(clikit.Fail("ce-cron ls shows the job; fix its target or remove it", "job %s did not fire: %s", f.Job, f.Error))
		}
	}
	for _, f := range rep.Retrying {
		env.Warnf("job %s did not fire yet (attempt %d of %d): %s", f.Job, f.Attempts, cronjob.MaxAttempts, f.Error)
	}
	if clikit.IsTerminal(os.Stderr) && !c.Verbose {
		env.Infof("fired %d jobs in %s", len(rep.Fired), time.Since(start).Round(time.Millisecond))
	}
	return failed.Err()
}

// report prints a tick's report, one line per thing done.
func report(w io.Writer, rep cronjob.Report) {
	for _, f := range rep.Fired {
		if f.State == cronjob.StateError {
			fmt.Fprintf(w, "failed %s (due %s): %s\n", f.Job, f.Due.Local().Format(time.RFC3339), f.Error)
			continue
		}
		fmt.Fprintf(w, "fired %s (due %s): %s in session %s\n", f.Job, f.Due.Local().Format(time.RFC3339), f.Item, f.Session)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped %s: %d missed times", s.Job, s.Count)
		if s.Removed {
			fmt.Fprint(w, " (one-shot job removed)")
		}
		fmt.Fprintln(w)
	}
	for _, c := range rep.Cleaned {
		fmt.Fprintf(w, "removed session %s of job %s\n", c.Session, c.Job)
	}
}

// Package croncmd is the ce-cron command: scheduled prompts (package
// cronjob) from a shell, the one-round scheduler for system cron (tick)
// and the scheduler daemon (serve). Firing a job pushes its prompt into the
// queue; the queue worker runs it. cmd/ce-cron is a one-line main around
// Main.
package croncmd

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/statedir"
)

// CLI is the command line of ce-cron.
type CLI struct {
	Add    AddCmd    `cmd:"" help:"Add a job: a prompt on a schedule, or once at a time."`
	Ls     LsCmd     `cmd:"" help:"List the jobs: schedule, target, next fire, last run and result, source."`
	Rm     RmCmd     `cmd:"" help:"Remove jobs (jobs from the config are removed there)."`
	Fire   FireCmd   `cmd:"" help:"Fire a job now, whatever its schedule."`
	Pause  PauseCmd  `cmd:"" help:"Pause jobs: they do not fire until resumed."`
	Resume ResumeCmd `cmd:"" help:"Resume paused jobs; the times missed while paused do not fire."`
	Next   NextCmd   `cmd:"" help:"Show what fires when, without firing anything."`
	Tick   TickCmd   `cmd:"" help:"Fire every due job once and exit (for system cron or timers)."`
	Serve  ServeCmd  `cmd:"" help:"Run the scheduler until interrupted."`

	clikit.Base
}

// App is ce-cron's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce-cron",
		Description: "scheduled prompts\n\n" +
			"A job pushes its prompt into the queue of a session on a schedule: a cron expression (5 fields, 6 with " +
			"seconds first, or a macro such as @daily; read in the job's time zone) or once, after a delay or at a time. " +
			"The prompt goes to a named session, or to a fresh session per run, removed after the run unless kept. " +
			"Jobs live in cron.db in the state directory; jobs from the config (cron.jobs) are listed and fired like the " +
			"others but are changed in the config only. A job never fires twice for the same due time, even with tick " +
			"and serve running at once or a scheduler killed mid-fire. After a downtime a job's missed-run policy " +
			"decides: skip (nothing), once (the latest missed time, within cron.grace; the default) or all (each missed " +
			"time, at most 100). Sessions get the ce_cron tools (cron_create, cron_delete, cron_list).",
		CLI: &CLI{},
	}
}

// Main runs ce-cron and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// jobs opens the job store and reports a file it had to move aside.
func jobs(env *clikit.Env) (*cronjob.Store, *statedir.Dir, error) {
	st, err := env.State()
	if err != nil {
		return nil, nil, err
	}
	s := cronjob.Open(st)
	s.Store().OnCorrupt = env.Corrupted
	return s, st, nil
}

// scheduler returns a scheduler that fires through the platform and
// records what it did in the event log.
func scheduler(env *clikit.Env) (*cronjob.Scheduler, *statedir.Dir, error) {
	cfg, st, err := env.Setup()
	if err != nil {
		return nil, nil, err
	}
	js, _, err := jobs(env)
	if err != nil {
		return nil, nil, err
	}
	p := platform.Open(st, cfg, env.ConfigPath(), env.Logger())
	p.OnCorrupt(env.Corrupted)
	return &cronjob.Scheduler{Store: js, Pusher: cronjob.PlatformPusher{P: p}, Now: time.Now, Config: &cfg.Cron, Events: p.Events}, st, nil
}

// notify wakes ce-cron serve through the broker; it also watches cron.db,
// so without a broker nothing is lost.
func notify(ctx context.Context, st *statedir.Dir, job string) {
	bc := bridge.Dial(bridge.Socket(st))
	defer bc.Close()
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	bc.Publish(ctx, cronjob.TopicChanged, map[string]string{"job": job})
}

// jobErr maps store errors to the command's voice.
func jobErr(name string, err error) error {
	var ee *cronjob.ExistsError
	switch {
	case errors.Is(err, cronjob.ErrNotFound):
		return clikit.Fail("ce-cron ls lists the jobs", "no job %q", name)
	case errors.As(err, &ee):
		return clikit.Fail("pick another name, or remove it first with ce-cron rm "+name, "%v", err)
	}
	return err
}

// when formats a time for tables: local, with the date when not today.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	t = t.Local()
	n := now.Local()
	if t.Year() == n.Year() && t.YearDay() == n.YearDay() {
		return t.Format("15:04:05")
	}
	if t.Year() == n.Year() {
		return t.Format("01-02 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

// in says how far t is from now, for people: "in 5m", "3h20m ago".
func in(t, now time.Time) string {
	if d := t.Sub(now); d < 0 {
		return cronjob.Age(-d) + " ago"
	}
	return "in " + cronjob.Age(t.Sub(now))
}

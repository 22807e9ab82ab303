package croncmd

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/rs/zerolog"
)

// maxSleep bounds one sleep of the scheduler: timers run on the monotonic
// clock, so after a suspend or a change of the wall clock it looks again
// rather than oversleeping a due time.
const maxSleep = 15 * time.Minute

// tickTimeout bounds one round, which finishes even after SIGTERM.
const tickTimeout = 2 * time.Minute

// ServeCmd runs the scheduler.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Ticks, then sleeps until the next due time; it wakes early when jobs change (cron.changed on the broker, " +
		"or a change of cron.db when no broker runs), and, while fresh sessions wait for their run to end, when the " +
		"queue changes. One scheduler serves a state directory; ce-cron tick is safe alongside it. SIGHUP re-reads " +
		"the config (cron.jobs, cron.grace); SIGINT or SIGTERM stops it after the round in progress. Logs go to " +
		"logs/cron.log."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	debug.SetGCPercent(50) // it idles for hours: keep it small
	s, p, err := scheduler(env)
	if err != nil {
		return err
	}
	d := p.d
	lockPath := d.State.Lock("cron-serve")
	lk, err := lockfile.TryLock(lockPath)
	if errors.Is(err, lockfile.ErrBusy) {
		return clikit.Fail("stop it first; ce-cron tick is safe alongside it", "a scheduler already serves this state directory (%s)", lockfile.Holder(lockPath))
	}
	if err != nil {
		return err
	}
	defer lk.Unlock()
	log, closeLog, err := env.DaemonLogger(d.State, "cron", d.Config.Log.Level)
	if err != nil {
		return clikit.Fail("check the permissions of the state directory", "open the log: %v", err)
	}
	defer closeLog()
	log = log.With().Int("pid", os.Getpid()).Logger()
	d.Log = log

	cronW, err := d.WatchFile(cronjob.DBFile)
	if err != nil {
		return err
	}
	defer cronW.Close()
	queueW, err := d.WatchFile("queue.db")
	if err != nil {
		return err
	}
	defer queueW.Close()
	bc := bridge.Dial(bridge.Socket(d.State))
	defer bc.Close()
	changed, err := bc.Subscribe(env.Ctx, cronjob.TopicChanged)
	if err != nil {
		return err
	}
	go bc.ProvideHealth(env.Ctx, "cron", nil)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log.Info().Int("jobs", len(s.Config.Jobs)).Msg("scheduler serving")

	for {
		rep, err := round(env.Ctx, s)
		events(d.Events, rep)
		logReport(log, rep, err)
		// A round decodes every job; hand that memory back before a
		// sleep that may last long.
		debug.FreeOSMemory()
		wake := rep.Next
		if !rep.Retry.IsZero() && (wake.IsZero() || rep.Retry.Before(wake)) {
			wake = rep.Retry
		}
		if err != nil {
			wake = time.Now().Add(30 * time.Second)
		}
		sleep := maxSleep
		if !wake.IsZero() {
			sleep = min(max(time.Until(wake), 0)+10*time.Millisecond, maxSleep)
		}
		var queueC <-chan struct{}
		if rep.Waiting > 0 {
			queueC = queueW.C
		}
		timer := time.NewTimer(sleep)
		select {
		case <-env.Ctx.Done():
			timer.Stop()
			log.Info().Msg("stopped")
			return nil
		case <-timer.C:
		case <-cronW.C:
		case <-queueC:
			// A run is going on: let its writes settle.
			time.Sleep(200 * time.Millisecond)
		case _, ok := <-changed:
			if !ok {
				changed = nil
			}
		case <-hup:
			path, explicit := config.Path(env.Globals.Config)
			cfg, err := config.Load(path, explicit)
			if err != nil {
				log.Error().Err(err).Msg("SIGHUP: the configuration does not load; keeping the old one")
				break
			}
			d.Config, s.Config = cfg, &cfg.Cron
			log.Info().Int("jobs", len(cfg.Cron.Jobs)).Msg("SIGHUP: configuration reloaded")
		}
		timer.Stop()
	}
}

// round ticks once; a tick under way finishes even when ctx is done.
func round(ctx context.Context, s *cronjob.Scheduler) (cronjob.Report, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tickTimeout)
	defer cancel()
	return s.Tick(ctx)
}

func logReport(log zerolog.Logger, rep cronjob.Report, err error) {
	for _, f := range rep.Fired {
		ev := log.Info()
		if f.State == cronjob.StateError {
			ev = log.Error().Str("error", f.Error)
		}
		ev.Str("job", f.Job).Time("due", f.Due).Bool("manual", f.Manual).Str("session", f.Session).Str("item", f.Item).Msg("fired")
	}
	for _, s := range rep.Skipped {
		log.Info().Str("job", s.Job).Int("count", s.Count).Bool("removed", s.Removed).Msg("skipped missed times")
	}
	for _, f := range rep.Retrying {
		log.Warn().Str("job", f.Job).Int("attempt", f.Attempts).Str("error", f.Error).Msg("fire failed; trying again")
	}
	for _, c := range rep.Cleaned {
		log.Info().Str("job", c.Job).Str("session", c.Session).Msg("removed the fresh session")
	}
	for _, w := range rep.Warnings {
		log.Warn().Msg(w)
	}
	if err != nil {
		log.Error().Err(err).Msg("tick failed")
	}
}

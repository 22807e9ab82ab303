package cronjob

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/rs/zerolog"
)

// maxSleep bounds one sleep of the scheduler: timers run on the monotonic
// clock, so after a suspend or a change of the wall clock it looks again
// rather than oversleeping a due time.
const maxSleep = 15 * time.Minute

// tickTimeout bounds one round, which finishes even after SIGTERM.
const tickTimeout = 2 * time.Minute

// ServeLock names the lock ce-cron serve holds.
const ServeLock = "cron-serve"

// Serve is the scheduler's loop (run it in the daemon skeleton): it ticks,
// then sleeps until the next due time; it wakes early when jobs change
// (TopicChanged on the broker, or a change of cron.db), when a valid
// configuration arrives on reload, and, while fresh sessions wait for their
// run to end, when the queue changes. A round under way finishes even when
// ctx is done.
func (s *Scheduler) Serve(ctx context.Context, st *statedir.Dir, bc *bridge.Client, reload <-chan *config.Config, log zerolog.Logger) error {
	debug.SetGCPercent(50) // it idles for hours: keep it small
	w, err := st.Watch(DBFile, queue.DBFile)
	if err != nil {
		return err
	}
	defer w.Close()
	changed, err := bc.Subscribe(ctx, TopicChanged)
	if err != nil {
		return err
	}
	jobs := 0
	if s.Config != nil {
		jobs = len(s.Config.Jobs)
	}
	log.Info().Int("config_jobs", jobs).Msg("scheduler serving")
	for {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tickTimeout)
		rep, err := s.Tick(rctx)
		cancel()
		logReport(log, rep, err)
		// A round decodes every job; hand that memory back before a
		// sleep that may last long.
		debug.FreeOSMemory()
		timer := time.NewTimer(sleepFor(rep, err))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case name := <-w.C:
			if name == queue.DBFile {
				if rep.Waiting == 0 {
					break // nothing waits on the queue: sleep on
				}
				// A run is going on: let its writes settle.
				time.Sleep(200 * time.Millisecond)
			}
		case _, ok := <-changed:
			if !ok {
				changed = nil
			}
		case cfg := <-reload:
			s.Config = &cfg.Cron
		}
		timer.Stop()
	}
}

// sleepFor is how long to sleep after a round: until the next due time or
// retry, at most maxSleep; 30 s after a failed round.
func sleepFor(rep Report, err error) time.Duration {
	wake := rep.Next
	if !rep.Retry.IsZero() && (wake.IsZero() || rep.Retry.Before(wake)) {
		wake = rep.Retry
	}
	if err != nil {
		wake = time.Now().Add(30 * time.Second)
	}
	if wake.IsZero() {
		return maxSleep
	}
	return min(max(time.Until(wake), 0)+10*time.Millisecond, maxSleep)
}

func logReport(log zerolog.Logger, rep Report, err error) {
	for _, f := range rep.Fired {
		ev := log.Info()
		if f.State == StateError {
			ev = log.Error().Str("error", f.Error)
		}
		ev.Str("job", f.Job).Time("due", f.Due).Bool("manual", f.Manual).Str("session", f.Session).Str("item", f.Item).Msg("fired")
	}
	for _, sk := range rep.Skipped {
		log.Info().Str("job", sk.Job).Int("count", sk.Count).Bool("removed", sk.Removed).Msg("skipped missed times")
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

package cronjob

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/tidwall/buntdb"
)

// DefaultGrace is the grace window of the policy "once" when no config
// says otherwise.
const DefaultGrace = time.Hour

// DefaultLockTimeout bounds the wait for another scheduler's fire lock.
const DefaultLockTimeout = 2 * time.Minute

// retryAfter is when a scheduler should tick again for intents whose push
// failed.
const retryAfter = 30 * time.Second

// Pusher delivers fires to the queue; ce-cron implements it with the run
// driver, tests with a bare queue.
type Pusher interface {
	// Push creates the fire's session if it is a fresh one, queues the
	// prompt with f.Source() as the item's source, and returns the item's
	// ID. Errors that retrying cannot fix are marked with Permanent.
	Push(ctx context.Context, f Fire) (item string, err error)
	// Find returns the ID of the item queued for f, or "" if there is none.
	Find(ctx context.Context, f Fire) (item string, err error)
	// States returns the states of the items by ID; items that no longer
	// exist are left out.
	States(ctx context.Context, items []string) (map[string]string, error)
	// RemoveSession removes a fresh session once its run is over.
	RemoveSession(ctx context.Context, c Cleanup) error
}

// Scheduler fires due jobs.
type Scheduler struct {
	Store  *Store
	Pusher Pusher
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Config holds the static jobs and the grace window; nil leaves config
	// jobs as they are and uses DefaultGrace.
	Config *config.Cron
	// LockTimeout bounds the wait for another scheduler; 0 is
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Events, if set, gets cron.fired, cron.failed and cron.skipped for
	// what each tick or fire did.
	Events *eventlog.Log

	// Test hooks: called after the intents are written, and after the
	// pushes, each time before the next step.
	afterIntent, afterPush func()
}

// Fired is one fire that was completed.
type Fired struct {
	Job string `json:"job"`
	Result
}

// Skipped counts due times of a job that did not fire.
type Skipped struct {
	Job   string `json:"job"`
	Count int    `json:"count"`
	// Removed is set for a one-shot job removed without firing.
	Removed bool `json:"removed,omitempty"`
}

// Report is what a tick did.
type Report struct {
	Fired    []Fired   `json:"fired,omitempty"`
	Skipped  []Skipped `json:"skipped,omitempty"`
	Retrying []Fire    `json:"retrying,omitempty"`
	Cleaned  []Cleanup `json:"cleaned,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
	// Next is the earliest due time of a job that is not paused; zero
	// when none will fire.
	Next time.Time `json:"next,omitzero"`
	// Retry, when set, is when to tick again for intents whose push failed.
	Retry time.Time `json:"retry,omitzero"`
	// Waiting counts fresh sessions whose run is not over yet.
	Waiting int `json:"waiting,omitempty"`
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) grace() time.Duration {
	if s.Config != nil {
		return time.Duration(s.Config.Grace)
	}
	return DefaultGrace
}

func (s *Scheduler) lock(ctx context.Context) (*lockfile.Lock, error) {
	d := s.LockTimeout
	if d <= 0 {
		d = DefaultLockTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return lockfile.Acquire(ctx, s.Store.fireLock)
}

// outcome is the push of one intent.
type outcome struct {
	f    Fire
	item string
	err  error
}

// Tick fires every job that is due at Now once (by its missed-run
// policy), completes intents left by a scheduler that died, and removes
// fresh sessions whose run is over. It holds the fire lock throughout.
func (s *Scheduler) Tick(ctx context.Context) (rep Report, err error) {
	defer func() { s.emit(rep) }()
	lk, err := s.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer lk.Unlock()
	now := s.now()
	var p tickPlan
	err = s.Store.update(ctx, func(tx *buntdb.Tx) error {
		rep = Report{}
		var err error
		p, err = s.planTick(tx, now, &rep)
		return err
	})
	if err != nil {
		return rep, err
	}
	if s.afterIntent != nil {
		s.afterIntent()
	}
	outs := s.push(ctx, p.left, p.fresh)
	if s.afterPush != nil {
		s.afterPush()
	}
	if err := s.record(ctx, now, outs, false, &rep); err != nil {
		return rep, err
	}
	return rep, s.collect(ctx, p.cleanups, p.watch, &rep)
}

// tickPlan is the work of a tick once its intents are written.
type tickPlan struct {
	fresh    []Fire // intents this tick wrote
	left     []Fire // intents an earlier scheduler did not complete
	cleanups []Cleanup
	watch    []Job // jobs whose last item is not final yet
}

// planTick writes an intent for each due time of every job, advances the
// jobs and gathers the tick's work, putting skips, warnings and the next
// due time in rep. It returns errNoChange, with the plan, when no job
// changed.
func (s *Scheduler) planTick(tx *buntdb.Tx, now time.Time, rep *Report) (tickPlan, error) {
	var p tickPlan
	changed := false
	if s.Config != nil {
		c, w, err := syncConfig(tx, s.Config, now)
		if err != nil {
			return p, err
		}
		changed, rep.Warnings = c, w
	}
	sn, err := snapshot(tx)
	if err != nil {
		return p, err
	}
	p.left, p.cleanups = sn.Pending, sn.Cleanups
	for _, j := range sn.Jobs {
		due, skipped, err := j.plan(now, s.grace())
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("job %s: %v", j.Name, err))
			continue
		}
		if len(due) > 0 || skipped > 0 {
			changed = true
			fresh, err := storePlan(tx, j, due, skipped, now, rep)
			if err != nil {
				return p, err
			}
			p.fresh = append(p.fresh, fresh...)
		}
		if !j.Paused && !j.Next.IsZero() && (rep.Next.IsZero() || j.Next.Before(rep.Next)) {
			rep.Next = j.Next
		}
		if j.Last != nil && j.Last.Item != "" && !finalState(j.Last.State) {
			p.watch = append(p.watch, j)
		}
	}
	if !changed {
		return p, errNoChange
	}
	return p, nil
}

// storePlan stores what planning did to j: an intent for each due time,
// the skip in rep, and the advanced job, or no job when a one-shot job
// was used up without firing. It returns the intents.
func storePlan(tx *buntdb.Tx, j Job, due []time.Time, skipped int, now time.Time, rep *Report) ([]Fire, error) {
	var fresh []Fire
	for _, d := range due {
		f, err := newFire(tx, j, d, now, false)
		if err != nil {
			return nil, err
		}
		fresh = append(fresh, f)
	}
	removed := j.Done && len(due) == 0 && j.Source != SourceConfig
	if skipped > 0 {
		rep.Skipped = append(rep.Skipped, Skipped{Job: j.Name, Count: skipped, Removed: removed})
	}
	if removed {
		_, err := tx.Delete(jobPrefix + j.Name)
		return fresh, err
	}
	return fresh, putJob(tx, j)
}

// push pushes the intents left by an earlier scheduler, unless it got as
// far as queueing their item, then the fresh ones.
func (s *Scheduler) push(ctx context.Context, left, fresh []Fire) []outcome {
	var outs []outcome
	for _, f := range left {
		item, err := s.Pusher.Find(ctx, f)
		if err == nil && item == "" {
			item, err = s.Pusher.Push(ctx, f)
		}
		outs = append(outs, outcome{f, item, err})
	}
	for _, f := range fresh {
		item, err := s.Pusher.Push(ctx, f)
		outs = append(outs, outcome{f, item, err})
	}
	return outs
}

// FireNow fires a job at once, whatever its schedule and even if paused;
// a one-shot job is used up by it. The job's due times are not changed.
func (s *Scheduler) FireNow(ctx context.Context, name string) (Fired, error) {
	lk, err := s.lock(ctx)
	if err != nil {
		return Fired{}, err
	}
	defer lk.Unlock()
	now := s.now()
	var f Fire
	err = s.Store.st.Update(ctx, func(tx *buntdb.Tx) error {
		j, err := getJob(tx, name)
		if err != nil {
			return err
		}
		if f, err = newFire(tx, j, now, now, true); err != nil {
			return err
		}
		if j.OneShot() {
			j.Done, j.Next = true, time.Time{}
			return putJob(tx, j)
		}
		return nil
	})
	if err != nil {
		return Fired{}, err
	}
	if s.afterIntent != nil {
		s.afterIntent()
	}
	item, perr := s.Pusher.Push(ctx, f)
	if s.afterPush != nil {
		s.afterPush()
	}
	var rep Report
	defer func() { s.emit(rep) }()
	if err := s.record(ctx, now, []outcome{{f, item, perr}}, true, &rep); err != nil {
		return Fired{}, err
	}
	if len(rep.Fired) == 0 {
		return Fired{}, perr
	}
	return rep.Fired[0], perr
}

// record completes intents: each pushed one (or one that failed for good)
// is deleted and its result put on its job; one whose push failed for now
// stays, to be tried again by a later tick.
func (s *Scheduler) record(ctx context.Context, now time.Time, outs []outcome, final bool, rep *Report) error {
	if len(outs) == 0 {
		return nil
	}
	ran := s.now().UTC()
	// The intents are completed even if the tick was asked to stop.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return s.Store.st.Update(ctx, func(tx *buntdb.Tx) error {
		rep.Fired, rep.Retrying, rep.Retry = nil, nil, time.Time{}
		for _, o := range outs {
			f := o.f
			if o.err != nil && !final && !IsPermanent(o.err) && f.Attempts+1 < MaxAttempts {
				f.Attempts++
				f.Error = o.err.Error()
				if err := putJSON(tx, fireKey(f.ID), f); err != nil {
					return err
				}
				rep.Retrying = append(rep.Retrying, f)
				rep.Retry = now.Add(retryAfter)
				continue
			}
			if _, err := tx.Delete(fireKey(f.ID)); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
				return err
			}
			res := Result{Fire: f.ID, Due: f.Due, Ran: ran, Manual: f.Manual, Session: f.Session, Item: o.item, State: queue.Queued}
			if o.err != nil {
				res.State, res.Error, res.Item = StateError, o.err.Error(), ""
			}
			rep.Fired = append(rep.Fired, Fired{Job: f.Job, Result: res})
			if f.New && !f.Keep && res.Item != "" {
				// Removed once its item is final. A fire that failed
				// leaves no cleanup: the session of that name may not be
				// the fire's.
				if err := putJSON(tx, cleanupPrefix+f.Session, Cleanup{Session: f.Session, Item: res.Item, Job: f.Job}); err != nil {
					return err
				}
			}
			j, err := getJob(tx, f.Job)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if o.err == nil {
				j.Runs++
			}
			j.LastRun, j.Last = ran, &res
			if j.OneShot() && j.Done && j.Source != SourceConfig {
				if _, err := tx.Delete(jobPrefix + j.Name); err != nil {
					return err
				}
				continue
			}
			if err := putJob(tx, j); err != nil {
				return err
			}
		}
		return nil
	})
}

func finalState(s string) bool {
	return s == queue.Done || s == queue.Failed || s == queue.Cancelled || s == StateError
}

// collect removes the fresh sessions whose item is final (or gone), and
// brings the last results of watched jobs up to date with their items.
func (s *Scheduler) collect(ctx context.Context, cleanups []Cleanup, watch []Job, rep *Report) error {
	if len(cleanups) == 0 && len(watch) == 0 {
		return nil
	}
	var ids []string
	for _, c := range cleanups {
		if c.Item != "" {
			ids = append(ids, c.Item)
		}
	}
	for _, j := range watch {
		ids = append(ids, j.Last.Item)
	}
	states, err := s.Pusher.States(ctx, ids)
	if err != nil {
		return err
	}
	var done []Cleanup
	for _, c := range cleanups {
		if st, ok := states[c.Item]; ok && !finalState(st) {
			rep.Waiting++
			continue
		}
		if err := s.Pusher.RemoveSession(ctx, c); err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("cannot remove session %s of job %s: %v", c.Session, c.Job, err))
			continue
		}
		done = append(done, c)
	}
	rep.Cleaned = done
	return s.Store.update(ctx, func(tx *buntdb.Tx) error {
		changed := false
		for _, c := range done {
			if _, err := tx.Delete(cleanupPrefix + c.Session); err != nil && !errors.Is(err, buntdb.ErrNotFound) {
				return err
			}
			changed = true
		}
		for _, w := range watch {
			st, ok := states[w.Last.Item]
			if !ok || st == w.Last.State {
				continue
			}
			j, err := getJob(tx, w.Name)
			if err != nil || j.Last == nil || j.Last.Item != w.Last.Item {
				continue
			}
			j.Last.State = st
			if err := putJob(tx, j); err != nil {
				return err
			}
			changed = true
		}
		if !changed {
			return errNoChange
		}
		return nil
	})
}

// emit records what a tick or fire did in the event log.
func (s *Scheduler) emit(rep Report) {
	if s.Events == nil {
		return
	}
	var evs []eventlog.Event
	for _, f := range rep.Fired {
		data := map[string]any{"job": f.Job, "fire": f.Fire, "due": f.Due, "manual": f.Manual}
		typ := eventlog.CronFired
		if f.Error != "" {
			typ, data["error"] = eventlog.CronFailed, f.Error
		}
		evs = append(evs, eventlog.Event{Type: typ, Session: f.Session, Item: f.Item, Data: data})
	}
	for _, sk := range rep.Skipped {
		evs = append(evs, eventlog.Event{Type: eventlog.CronSkipped, Data: map[string]any{"job": sk.Job, "count": sk.Count, "removed": sk.Removed}})
	}
	if len(evs) > 0 {
		s.Events.Append(evs...)
	}
}

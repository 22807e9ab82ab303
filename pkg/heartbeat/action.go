package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/streamjson"

	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
	"github.com/tidwall/buntdb"
)

// sessionDir is where the heartbeat session works and its gates run:
// sessions.default_dir, else the home directory, else the state directory.
func (e *Engine) sessionDir() string {
	if d := e.Config().Sessions.DefaultDir; d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		if fi, err := os.Stat(h); err == nil && fi.IsDir() {
			return h
		}
	}
	return e.State.Root
}

// ensureSession creates the heartbeat session if it does not exist yet;
// its runner starts with its first run.
func (e *Engine) ensureSession(ctx context.Context) error {
	cfg := e.Config()
	name := cfg.Heartbeat.Session
	if _, err := e.sessions.Get(ctx, name); err == nil || !errors.Is(err, session.ErrNotFound) {
		return err
	}
	_, err := e.p.CreateSession(ctx, platform.NewSession{
		Name: name, User: Owner, Dir: e.sessionDir(), Template: cfg.Heartbeat.Template,
		NoRunner: true, Data: map[string]any{"by": "heartbeat"},
	})
	var ee *session.ExistsError
	switch {
	case errors.As(err, &ee):
		return nil
	case errors.Is(err, template.ErrUnknown):
		return fmt.Errorf("heartbeat.template: %w", err)
	case err != nil:
		return fmt.Errorf("cannot create the heartbeat session %q: %w", name, err)
	}
	return nil
}

// actionPrompt is the prompt an action queues: the decision's task, with
// a line of context, since the session sees nothing of the decision.
func actionPrompt(now time.Time, loc *time.Location, d Decision) string {
	head := "[ce heartbeat, " + now.In(loc).Format("2006-01-02 15:04 MST") + "] Nobody typed this: the heartbeat decided to act"
	if d.Reason != "" {
		head += " (" + d.Reason + ")"
	}
	return head + ". Do the task below, then end with a short summary of what you did and of anything a person should look at.\n\n" + d.Prompt
}

// busyItem returns the session's queued, running or parked item, if any.
func busyItem(items []queue.Item) (queue.Item, bool) {
	for _, it := range items {
		if it.State == queue.Queued || it.State == queue.Running || it.State == queue.Parked {
			return it, true
		}
	}
	return queue.Item{}, false
}

// dayCost sums the costs of the session's runs that finished on day.
func (e *Engine) dayCost(items []queue.Item, day string) float64 {
	sum := 0.0
	for _, it := range items {
		if it.Final() && !it.Finished.IsZero() && e.day(it.Finished) == day {
			sum += it.CostUSD
		}
	}
	return sum
}

// outcome is what became of one action.
type outcome struct {
	item queue.Item
	auth bool
	text string
}

// authFailed tells an authentication or billing error apart from other
// failures: from the summary in the run's exit, else from the item's error.
func (e *Engine) authFailed(it queue.Item) (bool, string) {
	if it.Run != "" {
		rd := rundir.Of(e.State, it.Session, it.Run)
		if ex, ok, err := rd.ReadExit(); err == nil && ok {
			if s := rd.Outcome(ex); s.Result {
				if !s.Auth {
					return false, ""
				}
				if s.Error != "" {
					return true, s.Error
				}
				return true, it.Error
			}
		}
	}
	if streamjson.IsAuthError(&streamjson.Result{IsError: true, Text: it.Error}) {
		return true, it.Error
	}
	return false, ""
}

// Reconcile reads back the outcome of finished actions: a done action
// closes the circuit breaker, a failed one counts towards opening it, and
// an authentication or billing error pauses the heartbeat. It reports
// whether actions are still open (queued, running or parked).
func (e *Engine) Reconcile(ctx context.Context) (open bool, err error) {
	items, err := e.queue.List(ctx, queue.Filter{Session: e.hb().Session, Since: e.now().Add(-ReconcileWindow)})
	if err != nil {
		return false, err
	}
	st, err := e.Load(ctx)
	if err != nil {
		return false, err
	}
	fresh, present, open := e.actions(items, st.Accounted)
	stale := slices.ContainsFunc(st.Accounted, func(id string) bool { return !present[id] })
	if len(fresh) == 0 && !stale {
		return open, nil
	}
	hb := e.hb()
	now := e.now()
	var events []func()
	_, err = e.update(ctx, nil, func(s *State) error {
		s.Accounted = slices.DeleteFunc(s.Accounted, func(id string) bool { return !present[id] })
		for _, o := range fresh {
			if slices.Contains(s.Accounted, o.item.ID) {
				continue
			}
			s.Accounted = append(s.Accounted, o.item.ID)
			if ev := e.account(s, o, hb, now); ev != nil {
				events = append(events, ev)
			}
		}
		return nil
	})
	if err != nil {
		return open, err
	}
	for _, o := range fresh {
		e.markBeat(ctx, o.item)
	}
	for _, ev := range events {
		ev()
	}
	return open, nil
}

// actions sorts out the heartbeat's actions among items: the outcomes of
// the finished ones not in accounted yet, the ids of all, and whether any
// is still open.
func (e *Engine) actions(items []queue.Item, accounted []string) (fresh []outcome, present map[string]bool, open bool) {
	present = map[string]bool{}
	for _, it := range items {
		if it.Source != Source {
			continue
		}
		present[it.ID] = true
		if !it.Final() {
			open = true
			continue
		}
		if slices.Contains(accounted, it.ID) {
			continue
		}
		o := outcome{item: it}
		if it.State == queue.Failed {
			o.auth, o.text = e.authFailed(it)
		}
		fresh = append(fresh, o)
	}
	return fresh, present, open
}

// account applies one action's outcome to s: a done action closes the
// circuit breaker, a failed one counts towards opening it, an auth error
// pauses the heartbeat. It returns the event to emit once s is stored, or
// nil.
func (e *Engine) account(s *State, o outcome, hb config.Heartbeat, now time.Time) func() {
	it := o.item
	switch {
	case it.State == queue.Done:
		s.Failures, s.BackoffUntil = 0, time.Time{}
	case o.auth:
		if s.AuthPaused {
			return nil
		}
		s.AuthPaused, s.AuthReason, s.AuthSince = true, o.text, now
		return func() {
			e.emit(eventlog.HeartbeatPaused, hb.Session, it.ID, map[string]any{"auth": true, "reason": o.text})
		}
	case it.State == queue.Failed:
		s.Failures++
		if hb.BreakerFailures <= 0 || s.Failures < hb.BreakerFailures {
			return nil
		}
		shift := min(s.Failures-hb.BreakerFailures, 16)
		wait := min(time.Duration(hb.BreakerBackoff)<<shift, MaxBackoff)
		from := it.Finished
		if from.IsZero() || from.After(now) {
			from = now
		}
		s.BackoffUntil = from.Add(wait)
		f, until := s.Failures, s.BackoffUntil
		return func() {
			e.emit(eventlog.HeartbeatBreaker, hb.Session, it.ID, map[string]any{"failures": f, "until": until.UTC(), "error": it.Error})
		}
	}
	return nil
}

// markBeat records an action's end on the beat that queued it.
func (e *Engine) markBeat(ctx context.Context, it queue.Item) {
	e.db.Update(ctx, func(tx *buntdb.Tx) error {
		var found *Beat
		tx.DescendKeys("b:*", func(_, v string) bool {
			var b Beat
			if json.Unmarshal([]byte(v), &b) == nil && b.Item == it.ID {
				found = &b
				return false
			}
			return true
		})
		if found == nil {
			return nil
		}
		found.ItemState, found.ActionCostUSD = it.State, it.CostUSD
		return putBeat(tx, *found)
	})
}

package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
)

// maxSleep bounds one sleep of serve, so a clock that jumped (a suspended
// machine) is noticed within minutes; it is not a poll of anything.
const maxSleep = 10 * time.Minute

// Serving reports whether a ce-heartbeat serve runs.
func (e *Engine) Serving() bool { return lockfile.Held(e.serveLock()) }

// Serve is the daemon's loop (run it in the daemon skeleton, which holds
// ServeLock): it sleeps until the next beat is due, beats, and wakes early
// on triggers (heartbeat.db changes, the broker's heartbeat.trigger topic
// and method) and, while an action is open or the session busy, on
// queue.db changes. A configuration sent on reload replaces the current
// one. It returns when ctx ends.
func (e *Engine) Serve(ctx context.Context, bc *bridge.Client, reload <-chan *config.Config) error {
	fw, err := e.State.Watch(DBFile, queue.DBFile)
	if err != nil {
		return err
	}
	defer fw.Close()
	topic, err := bc.Subscribe(ctx, TopicTrigger)
	if err != nil {
		return err
	}
	go e.provide(ctx, bc)
	e.Log.Info().Str("interval", e.hb().Interval.String()).Str("session", e.hb().Session).Msg("heartbeat serving")

	l := &serveLoop{e: e, changes: fw.C, topic: topic, reload: reload, timer: time.NewTimer(0)}
	defer l.timer.Stop()
	l.run(ctx)
	return nil
}

// provide answers the broker's heartbeat.* methods until ctx ends.
func (e *Engine) provide(ctx context.Context, bc *bridge.Client) {
	err := bc.Provide(ctx, []string{MethodTrigger, MethodStatus}, e.handle)
	if err != nil && !errors.Is(err, bridge.ErrClosed) {
		e.Log.Warn().Err(err).Msg("cannot provide heartbeat.* on the broker")
	}
}

// serveLoop is serve's loop: what wakes it and what it keeps between
// beats.
type serveLoop struct {
	e       *Engine
	changes <-chan string       // heartbeat.db or queue.db changed
	topic   <-chan bridge.Event // the broker's heartbeat.trigger
	reload  <-chan *config.Config
	timer   *time.Timer

	retryAt  time.Time // a busy session: look again then
	watching bool      // an action is open: read the queue as it changes
}

// run beats whenever a beat is due and sleeps in between, until ctx ends
// or the broker closes the subscription.
func (l *serveLoop) run(ctx context.Context) {
	e := l.e
	for {
		now := e.now()
		st, err := e.Load(ctx)
		due := st.dueAt(time.Duration(e.hb().Interval))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.Log.Error().Err(err).Msg("cannot read the heartbeat state; trying again in a minute")
			due = now.Add(time.Minute)
		}
		if err == nil && !now.Before(due) && !now.Before(l.retryAt) {
			if !l.beat(ctx, now) {
				return
			}
			continue
		}
		if !l.sleep(ctx, now, due) {
			return
		}
	}
}

// beat beats and notes when to try again and whether to watch the queue;
// it reports false when ctx ended.
func (l *serveLoop) beat(ctx context.Context, now time.Time) bool {
	e := l.e
	b, err := e.Beat(ctx, BeatOptions{IfDue: true})
	var busy *ErrBeating
	switch {
	case ctx.Err() != nil:
		return false
	case errors.As(err, &busy):
		l.retryAt = now.Add(time.Second)
	case err != nil:
		e.Log.Error().Err(err).Msg("beat failed")
		l.retryAt = now.Add(time.Minute)
	case b.Outcome == OutcomeBusy:
		l.retryAt, l.watching = now.Add(min(BusyRetry, time.Duration(e.hb().Interval))), true
	default:
		l.retryAt = time.Time{}
		l.watching = l.watching || b.Item != ""
	}
	return true
}

// sleep waits until due, or the retry time when that is later, or until
// something wakes it early, and handles what woke it; it reports false when
// serve should return.
func (l *serveLoop) sleep(ctx context.Context, now, due time.Time) bool {
	e := l.e
	wake := due
	if l.retryAt.After(wake) {
		wake = l.retryAt
	}
	l.timer.Reset(min(max(wake.Sub(now), 0), maxSleep))
	select {
	case <-ctx.Done():
		return false
	case <-l.timer.C:
	case name := <-l.changes:
		if name == queue.DBFile && l.watching {
			l.readBack(ctx)
		}
	case ev, ok := <-l.topic:
		if !ok {
			return false
		}
		if ev.Topic == TopicTrigger {
			e.triggerEvent(ctx, ev)
		}
	case cfg := <-l.reload:
		e.SetConfig(cfg)
		e.Log.Info().Str("interval", cfg.Heartbeat.Interval.String()).Msg("configuration reloaded")
	}
	if !l.timer.Stop() {
		select {
		case <-l.timer.C:
		default:
		}
	}
	return true
}

// readBack reads back the open actions after the queue changed.
func (l *serveLoop) readBack(ctx context.Context) {
	open, err := l.e.Reconcile(ctx)
	if err != nil {
		l.e.Log.Warn().Err(err).Msg("cannot read back the action")
	}
	l.watching = open
	// The session may be free now; look again soon, not at every change
	// of a busy queue.
	if soon := l.e.now().Add(time.Second); !l.retryAt.IsZero() && soon.Before(l.retryAt) {
		l.retryAt = soon
	}
}

// triggerEvent answers a heartbeat.trigger event on the broker; a bad one
// is logged and dropped.
func (e *Engine) triggerEvent(ctx context.Context, ev bridge.Event) {
	var req TriggerRequest
	json.Unmarshal(ev.Data, &req)
	if req.Source == "" {
		req.Source = "broker"
	}
	if _, err := e.Trigger(ctx, req); err != nil {
		e.Log.Warn().Err(err).Msg("bad trigger on the broker")
	}
}

// handle answers the broker's heartbeat.* methods.
func (e *Engine) handle(ctx context.Context, method string, params json.RawMessage) (any, error) {
	switch method {
	case MethodTrigger:
		var req TriggerRequest
		if len(params) > 0 && string(params) != "null" {
			if err := json.Unmarshal(params, &req); err != nil {
				return nil, &bridge.RPCError{Code: bridge.CodeInvalidParams, Message: "heartbeat.trigger: " + err.Error()}
			}
		}
		if req.Source == "" {
			req.Source = "broker"
		}
		due, err := e.Trigger(ctx, req)
		if err != nil {
			return nil, &bridge.RPCError{Code: bridge.CodeInvalidParams, Message: err.Error()}
		}
		return map[string]any{"next_beat": due.UTC()}, nil
	case MethodStatus:
		return e.Status(ctx)
	}
	return nil, &bridge.RPCError{Code: bridge.CodeMethodNotFound, Message: "no method " + method}
}

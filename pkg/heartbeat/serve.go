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
	go func() {
		err := bc.Provide(ctx, []string{MethodTrigger, MethodStatus}, e.handle)
		if err != nil && !errors.Is(err, bridge.ErrClosed) {
			e.Log.Warn().Err(err).Msg("cannot provide heartbeat.* on the broker")
		}
	}()
	e.Log.Info().Str("interval", e.hb().Interval.String()).Str("session", e.hb().Session).Msg("heartbeat serving")

	var (
		retryAt  time.Time // a busy session: look again then
		watching bool      // an action is open: read the queue as it changes
		timer    = time.NewTimer(0)
	)
	defer timer.Stop()
	for {
		now := e.now()
		st, err := e.Load(ctx)
		due := st.dueAt(time.Duration(e.hb().Interval))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.Log.Error().Err(err).Msg("cannot read the heartbeat state; trying again in a minute")
			due = now.Add(time.Minute)
		}
		if err == nil && !now.Before(due) && !now.Before(retryAt) {
			b, err := e.Beat(ctx, BeatOptions{IfDue: true})
			var busy *ErrBeating
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.As(err, &busy):
				retryAt = now.Add(time.Second)
			case err != nil:
				e.Log.Error().Err(err).Msg("beat failed")
				retryAt = now.Add(time.Minute)
			case b.Outcome == OutcomeBusy:
				retryAt, watching = now.Add(min(BusyRetry, time.Duration(e.hb().Interval))), true
			default:
				retryAt = time.Time{}
				watching = watching || b.Item != ""
			}
			continue
		}
		wake := due
		if retryAt.After(wake) {
			wake = retryAt
		}
		timer.Reset(min(max(wake.Sub(now), 0), maxSleep))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case name := <-fw.C:
			if name == queue.DBFile && watching {
				open, err := e.Reconcile(ctx)
				if err != nil {
					e.Log.Warn().Err(err).Msg("cannot read back the action")
				}
				watching = open
				// The session may be free now; look again soon, not at
				// every change of a busy queue.
				if soon := e.now().Add(time.Second); !retryAt.IsZero() && soon.Before(retryAt) {
					retryAt = soon
				}
			}
		case ev, ok := <-topic:
			if !ok {
				return nil
			}
			if ev.Topic == TopicTrigger {
				var req TriggerRequest
				json.Unmarshal(ev.Data, &req)
				if req.Source == "" {
					req.Source = "broker"
				}
				if _, err := e.Trigger(ctx, req); err != nil {
					e.Log.Warn().Err(err).Msg("bad trigger on the broker")
				}
			}
		case cfg := <-reload:
			e.SetConfig(cfg)
			e.Log.Info().Str("interval", cfg.Heartbeat.Interval.String()).Msg("configuration reloaded")
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
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

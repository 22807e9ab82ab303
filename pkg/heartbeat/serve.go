package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/fsnotify/fsnotify"
)

// ErrServing means another ce-heartbeat serve runs for the state directory.
type ErrServing struct{ Holder string }

func (e *ErrServing) Error() string {
	return "ce-heartbeat serve already runs for this state directory (" + e.Holder + ")"
}

// maxSleep bounds one sleep of serve, so a clock that jumped (a suspended
// machine) is noticed within minutes; it is not a poll of anything.
const maxSleep = 10 * time.Minute

// Serving reports whether a ce-heartbeat serve runs.
func (e *Engine) Serving() bool { return lockfile.Held(e.serveLock()) }

// Serve is the daemon: it sleeps until the next beat is due, beats, and
// wakes early on triggers (heartbeat.db changes, the broker's
// heartbeat.trigger topic and method) and, while an action is open or the
// session busy, on queue.db changes. A configuration sent on reload
// replaces the current one. It returns when ctx ends.
func (e *Engine) Serve(ctx context.Context, reload <-chan *config.Config) error {
	lk, err := lockfile.TryLock(e.serveLock())
	if errors.Is(err, lockfile.ErrBusy) {
		return &ErrServing{Holder: lockfile.Holder(e.serveLock())}
	}
	if err != nil {
		return err
	}
	defer lk.Unlock()

	files, closeWatch, err := watchFiles(e.State.Root, DBFile, "queue.db")
	if err != nil {
		return err
	}
	defer closeWatch()
	bc := bridge.Dial(bridge.Socket(e.State))
	defer bc.Close()
	topic, err := bc.Subscribe(ctx, TopicTrigger)
	if err != nil {
		return err
	}
	go bc.ProvideHealth(ctx, "heartbeat", nil)
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
		case name := <-files:
			if name == "queue.db" && watching {
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

// watchFiles signals the base names of changed files among names in dir.
func watchFiles(dir string, names ...string) (<-chan string, func(), error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, nil, err
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, nil, err
	}
	ch := make(chan string, 8)
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				base := filepath.Base(ev.Name)
				for _, n := range names {
					if base == n && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
						select {
						case ch <- base:
						default:
						}
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return ch, func() { w.Close() }, nil
}

// Package asknotify holds what every kind of pending request (ask_user,
// session_ask) shares: the ask.created, ask.answered and ask.closed events
// (Announce, Answered, Closed), which go to the event log and the broker;
// the wait that wakes on them or on the pending store's file (Wait,
// Withdraw); and the event log of a tool's env (EventLog). Whoever
// resolves a request, a tool or `ce-session answer`, calls Answered. The
// topics are a contract; the rest is implementation.
package asknotify

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/pending"
)

// Topics on the broker and types in the event log. Each event's data is
// the pending.Request as JSON.
const (
	// TopicCreated: a request was created and its asker waits.
	TopicCreated = eventlog.AskCreated
	// TopicAnswered: a request was answered; published by whoever
	// resolved it.
	TopicAnswered = eventlog.AskAnswered
	// TopicClosed: a request ended without an answer (expired, or
	// withdrawn because its asker stopped waiting); published by the
	// asker.
	TopicClosed = eventlog.AskClosed
)

// publishTimeout bounds a publish, so a stuck broker never holds up a tool
// or a command: events are only a faster path than the file.
const publishTimeout = 2 * time.Second

// Announce records that req was created: ask.created in the event log and
// on the broker (if one runs).
func Announce(ctx context.Context, env ext.Env, req pending.Request) {
	notify(ctx, env, TopicCreated, req)
}

// Answered records that req was answered: ask.answered in the event log
// and on the broker, which wakes its waiter at once.
func Answered(ctx context.Context, env ext.Env, req pending.Request) {
	notify(ctx, env, TopicAnswered, req)
}

// Closed records that req ended without an answer: ask.closed.
func Closed(ctx context.Context, env ext.Env, req pending.Request) {
	notify(ctx, env, TopicClosed, req)
}

func notify(ctx context.Context, env ext.Env, topic string, req pending.Request) {
	if env.State != nil {
		var data map[string]any
		if b, err := json.Marshal(req); err == nil {
			json.Unmarshal(b, &data)
		}
		EventLog(env).Append(eventlog.Event{Type: topic, Session: req.Session, Data: data})
	}
	if env.BridgeSocket == "" {
		return
	}
	c := bridge.Dial(env.BridgeSocket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	c.Publish(ctx, topic, req) // ErrNoBroker: the waiter watches the file
}

// EventLog is the event log of env's state directory.
func EventLog(env ext.Env) *eventlog.Log {
	opts := eventlog.Options{LockDir: env.State.Path("locks")}
	if env.Config != nil {
		opts.MaxSize, opts.Keep = int64(env.Config.Events.MaxSize), env.Config.Events.Keep
	}
	return eventlog.Open(env.State.Root, opts)
}

// Wait blocks until request id is no longer open (see pending.Store.Wait).
// Besides the file watch, an ask.answered or ask.closed event for id on
// the broker wakes it, as does a reconnection to the broker (events of the
// gap were lost); without a broker the file watch and the poll suffice.
func Wait(ctx context.Context, env ext.Env, ps *pending.Store, id string) (pending.Request, error) {
	wake := make(chan struct{}, 1)
	if env.BridgeSocket != "" {
		c := bridge.Dial(env.BridgeSocket)
		defer c.Close()
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if ch, err := c.Subscribe(sctx, TopicAnswered, TopicClosed); err == nil {
			go func() {
				for ev := range ch {
					var r struct {
						ID string `json:"id"`
					}
					json.Unmarshal(ev.Data, &r)
					if ev.Topic == bridge.TopicResubscribed || r.ID == id {
						select {
						case wake <- struct{}{}:
						default:
						}
					}
				}
			}()
		}
	}
	return ps.Wait(ctx, id, wake)
}

// Withdraw cancels request id after its asker stopped waiting (the tool
// call was cancelled), so that nobody answers into the void and a session
// no longer counts as waiting; it uses a context of its own, as the
// caller's has usually ended.
func Withdraw(env ext.Env, ps *pending.Store, id, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := ps.Cancel(ctx, id, reason); err == nil {
		Closed(ctx, env, r)
	}
}

// Package platform is the handle every front end of ce holds on one state
// directory (the CLI commands, cron, the heartbeat, the sessions' tools,
// Telegram, agents): the session and queue stores, the event log, ce's tmux
// server and the broker, with the operations that must keep them
// consistent. Creating, stopping, renaming and removing a session and
// queueing a prompt happen here and only here, so every way in checks the
// same things, records the same events and wakes the worker the same way.
//
// Running prompts is package dispatch's; this package never drives a run.
// It is an implementation detail of ce.
package platform

import (
	"context"
	"os"
	"time"

	"github.com/ce-platform/ce/pkg/agentenv"
	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/tmux"
	"github.com/rs/zerolog"
)

// TopicQueueChanged is published on the broker when items are queued; the
// worker wakes on it (and, without a broker, on a change of queue.db).
const TopicQueueChanged = "queue.changed"

// WorkerLock names the lock the queue worker holds while it serves.
const WorkerLock = "worker"

// Platform is one state directory with its configuration.
type Platform struct {
	State      *statedir.Dir
	Config     *config.Config
	ConfigPath string
	Sessions   *session.Store
	Queue      *queue.Queue
	Events     *eventlog.Log
	Tmux       *tmux.Server
	Log        zerolog.Logger
	Now        func() time.Time
}

// Open returns the platform of a state directory.
func Open(st *statedir.Dir, cfg *config.Config, cfgPath string, log zerolog.Logger) *Platform {
	return &Platform{
		State:      st,
		Config:     cfg,
		ConfigPath: cfgPath,
		Sessions:   session.Open(st),
		Queue:      queue.Open(st),
		Events:     eventlog.Open(st.Root, eventlog.Options{MaxSize: int64(cfg.Events.MaxSize), Keep: cfg.Events.Keep, LockDir: st.Path("locks")}),
		// ce's tmux server, and so every session's runner, starts with
		// the allowlisted environment only.
		Tmux: &tmux.Server{Socket: st.TmuxSocket(), Env: agentenv.Allowed(os.Environ(), cfg.Agent.EnvPass)},
		Log:  log,
		Now:  time.Now,
	}
}

// OnCorrupt sets the hook called when a store file could not be loaded
// and was moved aside.
func (p *Platform) OnCorrupt(fn func(path, movedTo string, err error)) {
	p.Sessions.Store().OnCorrupt = fn
	p.Queue.Store().OnCorrupt = fn
}

// Emit appends one event to the event log; a failure is logged, never
// returned: the event log records what happened, it does not decide it.
func (p *Platform) Emit(typ, sess, item string, data map[string]any) {
	if _, err := p.Events.Append(eventlog.Event{Type: typ, Session: sess, Item: item, Data: data}); err != nil {
		p.Log.Warn().Err(err).Str("event", typ).Msg("cannot append to the event log")
	}
}

// WorkerServing reports whether a queue worker serves the state directory.
func (p *Platform) WorkerServing() bool { return lockfile.Held(p.State.Lock(WorkerLock)) }

// DriveLock is the lock whoever runs a session's prompts holds.
func (p *Platform) DriveLock(name string) string { return p.State.Lock("drive-" + name) }

// Driving reports whether some process runs the session's prompts now.
func (p *Platform) Driving(name string) bool { return lockfile.Held(p.DriveLock(name)) }

// Wake tells the queue worker, through the broker, that an item was
// queued. With no worker serving there is nobody to wake (whoever queued
// drives, or the next worker finds the item); without a broker the worker
// sees queue.db change.
func (p *Platform) Wake(ctx context.Context, sess, item string) {
	if !p.WorkerServing() {
		return
	}
	bc := bridge.Dial(bridge.Socket(p.State))
	defer bc.Close()
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	bc.Publish(ctx, TopicQueueChanged, map[string]string{"session": sess, "item": item})
}

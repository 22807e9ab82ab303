// Package heartbeat is ce's autonomous periodic agent (ce-heartbeat and
// the ce_heartbeat tools): every interval it wakes up, decides cheaply
// whether anything needs doing, and only then queues a prompt in its own
// session.
//
// A beat has three tiers, each stopping the beat as early as it can:
//
//  1. gate, no model call: the instructions file (a Markdown checklist) and
//     the gate commands (exit 0 means "may need attention"); an effectively
//     empty checklist and no gate fired end the beat as a no-op;
//  2. decision: one tool-less `claude -p` with a small model, answering
//     {"act": bool, "reason": str, "prompt": str}; a malformed answer is a
//     no-op too. It runs as a child in its own process group, killed at
//     heartbeat.decision_timeout, in the state directory, with claude's own
//     system prompt replaced by a short one, no session saved, and the
//     environment cleaned as the runner cleans it; its cost is recorded;
//  3. action: the prompt is queued in the heartbeat session (created on
//     first use); its outcome is read back from the queue later, by the
//     next beat, by status, or by serve as the queue changes, and feeds the
//     circuit breaker and the authentication pause.
//
// Before the gate, the safety valves are checked in this order, the first
// closed one stopping the beat: auth (an authentication or billing error
// from claude pauses until resume), pause (the switch), active_hours,
// breaker, usage (the latest rate-limit state), daily_actions, daily_cost
// and min_interval. A beat while the session has a queued, running or
// parked item is skipped without advancing the schedule.
//
// Scheduling: the next beat is interval x stretch after the last one; the
// second no-op beat in a row doubles the stretch, up to x8, and an action
// resets it. A closed valve moves the next beat to when it opens (a day
// later for the pauses only a person ends; resume brings it back). A trigger
// makes the next beat come sooner: urgency "normal" at most one interval
// after the last beat (dropping the stretch), "now" at once and past the
// min_interval valve; "force" also passes every other valve except auth,
// for that one beat.
//
// State lives in <state>/heartbeat.db (buntdb under the store lock): the
// schedule, the valves' state, today's counts and the beat log. Its layout
// is internal; the beat log's JSON (ce-heartbeat log --json) and the
// broker's heartbeat.trigger method and topic are contracts.
//
// Every time comes from Engine.Now, so tests drive the schedule and the
// valves without waiting.
package heartbeat

import (
	"os"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
	"github.com/rs/zerolog"
)

// Broker names: ce-heartbeat serve provides MethodTrigger and MethodStatus
// and listens on TopicTrigger; params and data are a TriggerRequest.
const (
	MethodTrigger = "heartbeat.trigger"
	MethodStatus  = "heartbeat.status"
	TopicTrigger  = "heartbeat.trigger"
)

// Source is the queue item source of actions.
const Source = "heartbeat"

// Owner is the user the heartbeat session is created for, so that it takes
// none of a person's sessions.max_per_user slots.
const Owner = "heartbeat"

// DBFile is the heartbeat's store in the state directory.
const DBFile = "heartbeat.db"

// Limits.
const (
	// MaxStretch bounds the stretch of the interval after no-op beats.
	MaxStretch = 8
	// MaxBackoff bounds the circuit breaker's backoff.
	MaxBackoff = 24 * time.Hour
	// LogKeep is how many beats the log keeps.
	LogKeep = 200
	// MaxInstructions is the largest checklist read; the rest is cut.
	MaxInstructions = 64 << 10
	// MaxGateOutput is how much of a gate's stdout the decision sees.
	MaxGateOutput = 8 << 10
	// BusyRetry is how soon serve looks again after a beat found the
	// session busy (or sooner, when the queue changes).
	BusyRetry = time.Minute
	// ReconcileWindow is how far back the outcomes of actions are read;
	// one older than that is no longer counted by the breaker.
	ReconcileWindow = 48 * time.Hour
	// Recheck is when a beat stopped by a valve that only a person opens
	// (the pause without an end, the auth pause) schedules the next.
	Recheck = 24 * time.Hour
)

// Engine runs beats and answers for the heartbeat's state.
type Engine struct {
	State *statedir.Dir
	// Now is the clock of every schedule and valve.
	Now func() time.Time
	// ChildEnv returns the environment of the decision's claude (cleaned
	// as the runner cleans it); nil gives this process's.
	ChildEnv func() []string
	Log      zerolog.Logger

	mu  sync.RWMutex
	cfg *config.Config

	db       *store.Store
	p        *platform.Platform
	sessions *session.Store
	queue    *queue.Queue
}

// New returns the engine of a state directory.
func New(st *statedir.Dir, cfg *config.Config) *Engine {
	p := platform.Open(st, cfg, cfg.Source(), zerolog.Nop())
	return &Engine{
		State:    st,
		Now:      time.Now,
		Log:      zerolog.Nop(),
		cfg:      cfg,
		db:       store.New(st.Path(DBFile), st.Lock("heartbeat")),
		p:        p,
		sessions: p.Sessions,
		queue:    p.Queue,
	}
}

// Config returns the configuration in use.
func (e *Engine) Config() *config.Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
}

// SetConfig replaces the configuration (serve's SIGHUP).
func (e *Engine) SetConfig(cfg *config.Config) {
	e.mu.Lock()
	e.cfg = cfg
	e.mu.Unlock()
}

// Store returns the heartbeat's store, for hooks such as OnCorrupt.
func (e *Engine) Store() *store.Store { return e.db }

func (e *Engine) now() time.Time { return e.Now() }

func (e *Engine) hb() config.Heartbeat { return e.Config().Heartbeat }

func (e *Engine) loc() *time.Location {
	loc, err := e.hb().Location()
	if err != nil {
		return time.Local
	}
	return loc
}

func (e *Engine) childEnv() []string {
	if e.ChildEnv != nil {
		return e.ChildEnv()
	}
	return os.Environ()
}

func (e *Engine) emit(typ, sess, item string, data map[string]any) {
	e.p.Log = e.Log
	e.p.Emit(typ, sess, item, data)
}

// ServeLock names the lock ce-heartbeat serve holds.
const ServeLock = "heartbeat-serve"

// Locks: the store's own, one beat at a time, one serve per state
// directory.
func (e *Engine) beatLock() string  { return e.State.Lock("heartbeat-beat") }
func (e *Engine) serveLock() string { return e.State.Lock(ServeLock) }

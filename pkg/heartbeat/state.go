package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tidwall/buntdb"
)

// Urgencies of a trigger.
const (
	UrgencyNormal = "normal"
	UrgencyNow    = "now"
)

// Trigger asks for a beat sooner than the schedule says.
type Trigger struct {
	Urgency string `json:"urgency"`
	// Force passes every valve but auth, for one beat.
	Force  bool   `json:"force,omitempty"`
	Source string `json:"source,omitempty"`
	Reason string `json:"reason,omitempty"`
	// At is when the (latest) trigger was received.
	At time.Time `json:"at"`
}

// State is the heartbeat's persistent state.
type State struct {
	NextBeat   time.Time `json:"next_beat,omitzero"`
	LastBeat   time.Time `json:"last_beat,omitzero"`
	LastAction time.Time `json:"last_action,omitzero"`
	// Stretch multiplies the interval (1, 2, 4, 8); Noops counts no-op
	// beats in a row.
	Stretch int `json:"stretch"`
	Noops   int `json:"noops"`

	Paused      bool      `json:"paused,omitempty"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	PauseReason string    `json:"pause_reason,omitempty"`

	AuthPaused bool      `json:"auth_paused,omitempty"`
	AuthReason string    `json:"auth_reason,omitempty"`
	AuthSince  time.Time `json:"auth_since,omitzero"`

	// Failures counts failed actions in a row; BackoffUntil is when an
	// open breaker lets actions through again.
	Failures     int       `json:"failures"`
	BackoffUntil time.Time `json:"backoff_until,omitzero"`

	// Day is today in the heartbeat's zone (2006-01-02); the counters
	// below are that day's.
	Day             string  `json:"day"`
	DayActions      int     `json:"day_actions"`
	DayDecisions    int     `json:"day_decisions"`
	DayDecisionCost float64 `json:"day_decision_cost_usd"`

	Trigger *Trigger `json:"trigger,omitempty"`
	// Accounted lists the heartbeat's queue items whose outcome was read,
	// while the queue still holds them.
	Accounted []string `json:"accounted,omitempty"`
}

// Tiers a beat reaches.
const (
	TierValve    = "valve"
	TierGate     = "gate"
	TierDecision = "decision"
	TierAction   = "action"
)

// Outcomes of a beat.
const (
	OutcomeBlocked = "blocked" // a valve stopped it
	OutcomeBusy    = "busy"    // the session was busy; the schedule is kept
	OutcomeSkip    = "skip"    // nothing to do (a no-op beat)
	OutcomeAct     = "act"     // an action was queued (or would be, dry run)
	OutcomeError   = "error"   // the decision failed
	OutcomeNotDue  = "not-due" // tick before the next beat; never logged
)

// Beat is one entry of the beat log.
type Beat struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Tier    string    `json:"tier"`
	Outcome string    `json:"outcome"`
	// Valve names the valve that stopped the beat.
	Valve    string       `json:"valve,omitempty"`
	Reason   string       `json:"reason"`
	Trigger  *Trigger     `json:"trigger,omitempty"`
	Gates    []GateResult `json:"gates,omitempty"`
	Decision *Decision    `json:"decision,omitempty"`
	// CostUSD is the decision's cost.
	CostUSD    float64 `json:"cost_usd"`
	DurationMS int64   `json:"duration_ms"`
	// Item is the queued action; ItemState and ActionCostUSD are filled
	// in once its outcome was read.
	Item          string  `json:"item,omitempty"`
	ItemState     string  `json:"item_state,omitempty"`
	ActionCostUSD float64 `json:"action_cost_usd,omitempty"`
	DryRun        bool    `json:"dry_run,omitempty"`
	// Next is when the next beat was scheduled.
	Next time.Time `json:"next,omitzero"`
}

const stateKey = "state"

func beatKey(seq uint64) string { return fmt.Sprintf("b:%012d", seq) }

func readState(tx *buntdb.Tx) (State, error) {
	var s State
	v, err := tx.Get(stateKey)
	if errors.Is(err, buntdb.ErrNotFound) {
		return State{Stretch: 1}, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return s, fmt.Errorf("heartbeat state: %w", err)
	}
	if s.Stretch < 1 {
		s.Stretch = 1
	}
	return s, nil
}

func writeState(tx *buntdb.Tx, s State) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(stateKey, string(b), nil)
	return err
}

// appendBeat stores b with the next sequence number and drops the oldest
// entries past LogKeep.
func appendBeat(tx *buntdb.Tx, b *Beat) error {
	n := uint64(0)
	if v, err := tx.Get("meta:seq"); err == nil {
		n, _ = strconv.ParseUint(v, 10, 64)
	}
	n++
	if _, _, err := tx.Set("meta:seq", strconv.FormatUint(n, 10), nil); err != nil {
		return err
	}
	b.Seq = n
	if err := putBeat(tx, *b); err != nil {
		return err
	}
	var old []string
	tx.AscendKeys("b:*", func(k, _ string) bool {
		old = append(old, k)
		return true
	})
	for i := 0; i+LogKeep < len(old); i++ {
		if _, err := tx.Delete(old[i]); err != nil {
			return err
		}
	}
	return nil
}

func putBeat(tx *buntdb.Tx, b Beat) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(beatKey(b.Seq), string(v), nil)
	return err
}

// lastBeats returns up to n beats, newest first.
func lastBeats(tx *buntdb.Tx, n int) []Beat {
	var out []Beat
	tx.DescendKeys("b:*", func(_, v string) bool {
		var b Beat
		if json.Unmarshal([]byte(v), &b) == nil {
			out = append(out, b)
		}
		return len(out) < n
	})
	return out
}

// Load returns the state as stored (today's counters as of its last write).
func (e *Engine) Load(ctx context.Context) (State, error) {
	var s State
	err := e.db.View(ctx, func(tx *buntdb.Tx) error {
		var err error
		s, err = readState(tx)
		return err
	})
	return s, err
}

// update changes the state in one transaction: the day is rolled over
// first, and beat, when not nil, is appended to the log.
func (e *Engine) update(ctx context.Context, beat *Beat, fn func(*State) error) (State, error) {
	var s State
	day := e.day(e.now())
	err := e.db.Update(ctx, func(tx *buntdb.Tx) error {
		var err error
		if s, err = readState(tx); err != nil {
			return err
		}
		s.roll(day)
		if fn != nil {
			if err := fn(&s); err != nil {
				return err
			}
		}
		if beat != nil {
			beat.Next = s.NextBeat
			if err := appendBeat(tx, beat); err != nil {
				return err
			}
		}
		return writeState(tx, s)
	})
	return s, err
}

// Beats returns the last n beats of the log, oldest first.
func (e *Engine) Beats(ctx context.Context, n int) ([]Beat, error) {
	var out []Beat
	err := e.db.View(ctx, func(tx *buntdb.Tx) error {
		out = lastBeats(tx, n)
		return nil
	})
	slices.Reverse(out)
	return out, err
}

func (e *Engine) day(t time.Time) string { return t.In(e.loc()).Format(time.DateOnly) }

// roll resets the day's counters when the day changed.
func (s *State) roll(day string) {
	if s.Day != day {
		s.Day, s.DayActions, s.DayDecisions, s.DayDecisionCost = day, 0, 0, 0
	}
}

// pausedAt reports whether the pause switch is on at t.
func (s *State) pausedAt(t time.Time) bool {
	return s.Paused && (s.PausedUntil.IsZero() || t.Before(s.PausedUntil))
}

// interval is the time to the next scheduled beat.
func (s *State) interval(base time.Duration) time.Duration {
	return base * time.Duration(max(1, min(s.Stretch, MaxStretch)))
}

// dueAt is when the next beat is due: the schedule, or sooner for a
// pending trigger. A zero NextBeat (a fresh state) is due at once.
func (s *State) dueAt(base time.Duration) time.Time {
	due := s.NextBeat
	if t := s.Trigger; t != nil {
		td := t.At
		if t.Urgency != UrgencyNow && !t.Force && !s.LastBeat.IsZero() {
			if earliest := s.LastBeat.Add(base); earliest.After(td) {
				td = earliest
			}
		}
		if td.Before(due) {
			due = td
		}
	}
	return due
}

// noop records a beat that found nothing to do: from the second in a row
// the stretch doubles, up to MaxStretch.
func (s *State) noop() {
	s.Noops++
	s.Stretch = min(MaxStretch, 1<<min(max(s.Noops-1, 0), 3))
}

// consumeTrigger clears the pending trigger unless it came after start
// (a new one, which the next beat answers).
func (s *State) consumeTrigger(start time.Time) {
	if s.Trigger != nil && !s.Trigger.At.After(start) {
		s.Trigger = nil
	}
}

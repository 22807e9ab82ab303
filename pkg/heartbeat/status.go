package heartbeat

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
)

// Status is the heartbeat at a glance; ce-heartbeat status --json prints it.
type Status struct {
	Now time.Time `json:"now"`
	// State is "active", "paused" (the switch) or "auth-paused".
	State string `json:"state"`
	// Waiting names the first closed valve, if any.
	Waiting  string    `json:"waiting,omitempty"`
	NextBeat time.Time `json:"next_beat"`
	Interval string    `json:"interval"`
	// Stretch multiplies the interval after NoopBeats no-op beats in a row.
	Stretch   int      `json:"stretch"`
	NoopBeats int      `json:"noop_beats"`
	Trigger   *Trigger `json:"trigger,omitempty"`
	// Serving says whether ce-heartbeat serve runs.
	Serving      bool          `json:"serving"`
	Session      SessionStatus `json:"session"`
	Instructions Instructions  `json:"instructions"`
	Gates        []string      `json:"gates"`
	Today        Today         `json:"today"`
	Valves       []Valve       `json:"valves"`
	LastBeat     *Beat         `json:"last_beat,omitempty"`
}

// SessionStatus is the heartbeat session's part of Status.
type SessionStatus struct {
	Name   string `json:"name"`
	Exists bool   `json:"exists"`
	// Busy is the item that keeps it busy, if any.
	Busy string `json:"busy,omitempty"`
}

// Today counts the day's actions and spending, in the heartbeat's zone.
type Today struct {
	Day             string  `json:"day"`
	Actions         int     `json:"actions"`
	ActionCap       int     `json:"action_cap"`
	Decisions       int     `json:"decisions"`
	CostUSD         float64 `json:"cost_usd"`
	DecisionCostUSD float64 `json:"decision_cost_usd"`
	CostCapUSD      float64 `json:"cost_cap_usd"`
}

// Status reads back finished actions, then describes the heartbeat.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	if _, err := e.Reconcile(ctx); err != nil {
		return Status{}, err
	}
	now := e.now()
	cfg := e.Config()
	hb := cfg.Heartbeat
	st, err := e.Load(ctx)
	if err != nil {
		return Status{}, err
	}
	st.roll(e.day(now))
	items, err := e.queue.List(ctx, queue.Filter{Session: hb.Session, Since: now.Add(-25 * time.Hour)})
	if err != nil {
		return Status{}, err
	}
	limits, err := e.sessions.RateLimits(ctx)
	if err != nil {
		return Status{}, err
	}
	actionCost := e.dayCost(items, st.Day)
	next := st.dueAt(time.Duration(hb.Interval))
	if next.IsZero() {
		next = now // a fresh heartbeat beats at once
	}
	s := Status{
		Now: now, State: "active", NextBeat: next, Interval: hb.Interval.String(),
		Stretch: max(st.Stretch, 1), NoopBeats: st.Noops, Trigger: st.Trigger,
		Serving: lockfile.Held(e.serveLock()),
		Session: SessionStatus{Name: hb.Session},
		Gates:   append([]string{}, hb.Gates...),
		Today: Today{Day: st.Day, Actions: st.DayActions, ActionCap: hb.DailyActions, Decisions: st.DayDecisions,
			CostUSD: st.DayDecisionCost + actionCost, DecisionCostUSD: st.DayDecisionCost, CostCapUSD: hb.DailyCostUSD},
	}
	if _, err := e.sessions.Get(ctx, hb.Session); err == nil {
		s.Session.Exists = true
	} else if !errors.Is(err, session.ErrNotFound) {
		return s, err
	}
	if it, busy := busyItem(items); busy {
		s.Session.Busy = it.ID + " " + it.State
	}
	if p, err := cfg.HeartbeatInstructions(); err == nil {
		in, err := ReadInstructions(p)
		if err != nil {
			in.State = "unreadable: " + err.Error()
		}
		s.Instructions = in
	}
	s.Valves = evalValves(valveInput{now: now, hb: hb, loc: e.loc(), st: st, limits: limits, dayCost: s.Today.CostUSD})
	for _, v := range s.Valves {
		if !v.Open && s.Waiting == "" {
			s.Waiting = v.Name
		}
	}
	switch {
	case st.AuthPaused:
		s.State = "auth-paused"
	case st.pausedAt(now):
		s.State = "paused"
	}
	if last, err := e.Beats(ctx, 1); err == nil && len(last) == 1 {
		s.LastBeat = &last[0]
	}
	return s, nil
}

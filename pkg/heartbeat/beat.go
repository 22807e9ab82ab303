package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/platform"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/tidwall/buntdb"
)

// BeatOptions shape one beat.
type BeatOptions struct {
	// IfDue beats only when the schedule or a trigger says so; otherwise
	// the beat happens now (the valves still apply).
	IfDue bool
	// DryRun goes as far as the decision and reports it, queueing
	// nothing and changing no schedule (the decision's cost is still
	// counted: it was spent).
	DryRun bool
}

// ErrBeating means another process is in the middle of a beat.
type ErrBeating struct{ Holder string }

func (e *ErrBeating) Error() string {
	return "another beat is in progress (" + e.Holder + ")"
}

// Beat runs one beat and returns its log entry (Outcome OutcomeNotDue, with
// Next, when IfDue is set and no beat is due).
func (e *Engine) Beat(ctx context.Context, opts BeatOptions) (Beat, error) {
	lk, err := lockfile.TryLock(e.beatLock())
	if errors.Is(err, lockfile.ErrBusy) {
		return Beat{}, &ErrBeating{Holder: lockfile.Holder(e.beatLock())}
	}
	if err != nil {
		return Beat{}, err
	}
	defer lk.Unlock()
	if _, err := e.Reconcile(ctx); err != nil {
		return Beat{}, err
	}
	start := e.now()
	cfg := e.Config()
	hb := cfg.Heartbeat
	loc := e.loc()
	base := time.Duration(hb.Interval)

	st, err := e.Load(ctx)
	if err != nil {
		return Beat{}, err
	}
	st.roll(e.day(start))
	if due := st.dueAt(base); opts.IfDue && start.Before(due) {
		return Beat{Time: start, Outcome: OutcomeNotDue, Next: due}, nil
	}
	b := Beat{Time: start, DryRun: opts.DryRun}
	var by bypass
	if t := st.Trigger; t != nil && !t.At.After(start) {
		tc := *t
		b.Trigger = &tc
		by.interval = t.Urgency == UrgencyNow || t.Force
		by.all = t.Force
	}
	finish := func(fn func(*State)) (Beat, error) {
		b.DurationMS = e.now().Sub(start).Milliseconds()
		if opts.DryRun {
			if b.CostUSD > 0 {
				e.update(ctx, nil, func(s *State) error {
					s.DayDecisions++
					s.DayDecisionCost += b.CostUSD
					return nil
				})
			}
			return b, nil
		}
		_, err := e.update(ctx, &b, func(s *State) error {
			s.consumeTrigger(start)
			s.LastBeat = start
			if fn != nil {
				fn(s)
			}
			return nil
		})
		e.emit(eventlog.HeartbeatBeat, hb.Session, b.Item, map[string]any{
			"tier": b.Tier, "outcome": b.Outcome, "valve": b.Valve, "reason": b.Reason, "cost_usd": b.CostUSD,
		})
		e.Log.Info().Str("tier", b.Tier).Str("outcome", b.Outcome).Str("valve", b.Valve).Str("reason", b.Reason).
			Str("item", b.Item).Float64("cost_usd", b.CostUSD).Time("next", b.Next).Msg("beat")
		return b, err
	}
	schedule := func(s *State, at time.Time) {
		if !at.After(start) {
			at = start.Add(s.interval(base))
		}
		s.NextBeat = at
	}

	// Tier 0: the valves.
	items, err := e.queue.List(ctx, queue.Filter{Session: hb.Session, Since: start.Add(-25 * time.Hour)})
	if err != nil {
		return b, err
	}
	limits, err := e.sessions.RateLimits(ctx)
	if err != nil {
		return b, err
	}
	valves := evalValves(valveInput{now: start, hb: hb, loc: loc, st: st, limits: limits,
		dayCost: st.DayDecisionCost + e.dayCost(items, st.Day)})
	for _, v := range valves {
		if by.passes(v) {
			continue
		}
		b.Tier, b.Outcome, b.Valve, b.Reason = TierValve, OutcomeBlocked, v.Name, v.Name+": "+v.Detail
		at := v.Until
		if at.IsZero() {
			// Closed until a person acts (pause, auth): look again
			// daily, not every interval; resume brings the beat back.
			at = start.Add(Recheck)
		}
		return finish(func(s *State) { schedule(s, at) })
	}
	if it, busy := busyItem(items); busy {
		b.Tier, b.Outcome = TierValve, OutcomeBusy
		b.Reason = fmt.Sprintf("the heartbeat session %s is busy (%s %s); the schedule is kept", hb.Session, it.ID, it.State)
		if !opts.DryRun {
			e.logBusy(ctx, &b)
		}
		return b, nil
	}

	// Tier 1: the gate.
	b.Tier = TierGate
	ipath, err := cfg.HeartbeatInstructions()
	if err != nil {
		return b, err
	}
	in, err := ReadInstructions(ipath)
	if err != nil {
		b.Outcome, b.Reason = OutcomeError, "cannot read the instructions: "+err.Error()
		return finish(func(s *State) { schedule(s, time.Time{}) })
	}
	dir := e.sessionDir()
	if len(hb.Gates) > 0 {
		b.Gates = runGates(ctx, hb.Gates, dir, e.childEnv(), time.Duration(hb.GateTimeout))
		if ctx.Err() != nil {
			return b, ctx.Err()
		}
	}
	var fired []string
	for _, g := range b.Gates {
		if g.Fired {
			fired = append(fired, g.Command)
		}
	}
	if in.State != "ok" && len(fired) == 0 {
		b.Outcome = OutcomeSkip
		b.Reason = "nothing to do: the instructions are " + in.State
		switch {
		case len(b.Gates) == 0:
			b.Reason += " and there are no gates"
		default:
			b.Reason += " and no gate fired"
		}
		return finish(func(s *State) { s.noop(); schedule(s, time.Time{}) })
	}

	// Tier 2: the decision.
	b.Tier = TierDecision
	recent, _ := e.Beats(ctx, 20)
	for i, j := 0, len(recent)-1; i < j; i, j = i+1, j-1 {
		recent[i], recent[j] = recent[j], recent[i]
	}
	prompt := decisionPrompt(start, loc, in, b.Gates, recent, st, hb.DailyActions)
	// The decision runs in the state directory: no project's CLAUDE.md
	// there to add tokens or steer it.
	run := e.decide(ctx, prompt, e.State.Root)
	if errors.Is(run.err, context.Canceled) && ctx.Err() != nil {
		return b, ctx.Err()
	}
	if run.rateLimit != nil {
		e.storeRateLimit(ctx, run.rateLimit)
	}
	if run.result != nil {
		b.CostUSD = run.result.CostUSD
	}
	decided := func(s *State) {
		if b.CostUSD > 0 || run.result != nil {
			s.DayDecisions++
			s.DayDecisionCost += b.CostUSD
		}
	}
	switch {
	case run.result != nil && streamjson.IsAuthError(run.result):
		b.Outcome = OutcomeError
		reason := oneLine(run.result.Text, 300)
		b.Reason = "authentication or billing error from claude: " + reason + "; the heartbeat is paused until ce-heartbeat resume"
		if opts.DryRun {
			return finish(nil)
		}
		res, err := finish(func(s *State) {
			decided(s)
			s.AuthPaused, s.AuthReason, s.AuthSince = true, reason, start
			schedule(s, time.Time{})
		})
		e.emit(eventlog.HeartbeatPaused, hb.Session, "", map[string]any{"auth": true, "reason": reason})
		return res, err
	case run.err != nil:
		b.Outcome, b.Reason = OutcomeError, "the decision failed: "+run.err.Error()
		return finish(func(s *State) { decided(s); schedule(s, time.Time{}) })
	case run.result.IsError:
		if until, limited := streamjson.LimitReset(run.result, start); limited {
			e.storeRateLimit(ctx, &streamjson.RateLimit{Status: "rejected", ResetsAt: until})
		}
		msg := run.result.Text
		if msg == "" {
			msg = strings.Join(run.result.Errors, "; ")
		}
		if msg == "" {
			msg = run.result.Subtype
		}
		b.Outcome, b.Reason = OutcomeError, "the decision run failed: "+oneLine(msg, 300)
		return finish(func(s *State) { decided(s); schedule(s, time.Time{}) })
	}
	d, perr := ParseDecision(run.result.Text)
	if perr != nil {
		b.Decision = &Decision{Malformed: perr.Error(), Raw: oneLine(run.result.Text, 500)}
		b.Outcome, b.Reason = OutcomeSkip, "malformed decision, counted as a skip: "+perr.Error()
		e.Log.Warn().Str("answer", oneLine(run.result.Text, 500)).Err(perr).Msg("malformed decision")
		return finish(func(s *State) { decided(s); s.noop(); schedule(s, time.Time{}) })
	}
	b.Decision = &d
	if !d.Act {
		b.Outcome, b.Reason = OutcomeSkip, "decided not to act: "+orNone(d.Reason)
		return finish(func(s *State) { decided(s); s.noop(); schedule(s, time.Time{}) })
	}

	// Tier 3: the action.
	b.Tier, b.Outcome = TierAction, OutcomeAct
	if opts.DryRun {
		b.Reason = "dry run: would queue in session " + hb.Session + ": " + oneLine(d.Prompt, 200)
		return finish(nil)
	}
	// The decision took a while: the switch or the auth valve may have
	// closed meanwhile.
	if cur, err := e.Load(ctx); err == nil {
		switch {
		case cur.AuthPaused:
			b.Valve = ValveAuth
		case cur.pausedAt(e.now()) && !by.all:
			b.Valve = ValvePause
		}
		if b.Valve != "" {
			b.Outcome, b.Reason = OutcomeBlocked, b.Valve+": paused during the decision; nothing was queued"
			return finish(func(s *State) { decided(s); schedule(s, time.Time{}) })
		}
	}
	if err := e.ensureSession(ctx); err != nil {
		b.Outcome, b.Reason = OutcomeError, err.Error()
		return finish(func(s *State) { decided(s); schedule(s, time.Time{}) })
	}
	e.p.Log = e.Log
	it, err := e.p.Enqueue(ctx, platform.Prompt{Session: hb.Session, Text: actionPrompt(start, loc, d), Source: Source})
	if err != nil {
		b.Outcome, b.Reason = OutcomeError, "cannot queue the action: "+err.Error()
		return finish(func(s *State) { decided(s); schedule(s, time.Time{}) })
	}
	b.Item = it.ID
	b.Reason = "queued " + it.ID + " in session " + hb.Session + ": " + orNone(d.Reason)
	res, err := finish(func(s *State) {
		decided(s)
		s.DayActions++
		s.LastAction = start
		s.Noops, s.Stretch = 0, 1
		schedule(s, time.Time{})
	})
	return res, err
}

func orNone(s string) string {
	if s == "" {
		return "(no reason given)"
	}
	return s
}

// logBusy logs a busy beat, once per busy item: a daemon that retries
// until the session is free must not fill the log.
func (e *Engine) logBusy(ctx context.Context, b *Beat) {
	repeat := false
	e.db.View(ctx, func(tx *buntdb.Tx) error {
		if last := lastBeats(tx, 1); len(last) == 1 && last[0].Outcome == OutcomeBusy && last[0].Reason == b.Reason {
			b.Seq, repeat = last[0].Seq, true
		}
		return nil
	})
	if repeat {
		return
	}
	e.db.Update(ctx, func(tx *buntdb.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		b.Next = st.NextBeat
		return appendBeat(tx, b)
	})
}

// storeRateLimit keeps a rate-limit state the decision saw, for the usage
// valve and ce-session usage.
func (e *Engine) storeRateLimit(ctx context.Context, rl *streamjson.RateLimit) {
	err := e.sessions.SetRateLimit(ctx, session.RateLimit{Account: "default", Status: rl.Status, ResetsAt: rl.ResetsAt,
		Type: rl.Type, Utilization: rl.Utilization, Seen: e.now().UTC(), Session: e.hb().Session})
	if err != nil {
		e.Log.Warn().Err(err).Msg("cannot store the rate-limit state")
	}
}

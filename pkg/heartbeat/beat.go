package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
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
	bt, err := e.startBeat(ctx, opts)
	if err != nil {
		return Beat{}, err
	}
	if due := bt.st.dueAt(bt.base); opts.IfDue && bt.start.Before(due) {
		return Beat{Time: bt.start, Outcome: OutcomeNotDue, Next: due}, nil
	}
	return bt.run(ctx)
}

// beat is one beat in progress: what its tiers share and the log entry
// they fill in.
type beat struct {
	e     *Engine
	opts  BeatOptions
	start time.Time
	cfg   *config.Config
	hb    config.Heartbeat
	loc   *time.Location
	base  time.Duration // heartbeat.interval, before any stretch
	st    State         // as loaded when the beat started
	by    bypass        // what a due trigger lets the beat pass
	b     Beat
	// ran is set when the decision ran to a result, which counts as a
	// decision even when it cost nothing.
	ran bool
}

// startBeat reads the configuration and the state a beat starting now
// works from.
func (e *Engine) startBeat(ctx context.Context, opts BeatOptions) (*beat, error) {
	bt := &beat{e: e, opts: opts, start: e.now(), cfg: e.Config()}
	bt.hb = bt.cfg.Heartbeat
	bt.loc = e.loc()
	bt.base = time.Duration(bt.hb.Interval)
	st, err := e.Load(ctx)
	if err != nil {
		return nil, err
	}
	st.roll(e.day(bt.start))
	bt.st = st
	bt.b = Beat{Time: bt.start, DryRun: opts.DryRun}
	if t := st.Trigger; t != nil && !t.At.After(bt.start) {
		tc := *t
		bt.b.Trigger = &tc
		bt.by.interval = t.Urgency == UrgencyNow || t.Force
		bt.by.all = t.Force
	}
	return bt, nil
}

// run takes the beat through the tiers, each cheaper than the next, until
// one ends it (a tier that fails ends it too), and returns its log entry.
func (bt *beat) run(ctx context.Context) (Beat, error) {
	if ended, err := bt.valves(ctx); ended {
		return bt.b, err
	}
	in, ended, err := bt.gate(ctx)
	if ended {
		return bt.b, err
	}
	d, ended, err := bt.decision(ctx, in)
	if ended {
		return bt.b, err
	}
	return bt.b, bt.action(ctx, d)
}

// finish ends the beat: it applies fn to the state, appends the beat to the
// log and announces it. A dry run changes nothing but the day's count of
// decisions and their cost.
func (bt *beat) finish(ctx context.Context, fn func(*State)) error {
	e, b := bt.e, &bt.b
	b.DurationMS = e.now().Sub(bt.start).Milliseconds()
	if bt.opts.DryRun {
		if b.CostUSD > 0 {
			e.update(ctx, nil, func(s *State) error {
				s.DayDecisions++
				s.DayDecisionCost += b.CostUSD
				return nil
			})
		}
		return nil
	}
	_, err := e.update(ctx, b, func(s *State) error {
		s.consumeTrigger(bt.start)
		s.LastBeat = bt.start
		if fn != nil {
			fn(s)
		}
		return nil
	})
	e.emit(eventlog.HeartbeatBeat, bt.hb.Session, b.Item, map[string]any{
		"tier": b.Tier, "outcome": b.Outcome, "valve": b.Valve, "reason": b.Reason, "cost_usd": b.CostUSD,
	})
	e.Log.Info().Str("tier", b.Tier).Str("outcome", b.Outcome).Str("valve", b.Valve).Str("reason", b.Reason).
		Str("item", b.Item).Float64("cost_usd", b.CostUSD).Time("next", b.Next).Msg("beat")
	return err
}

// schedule sets the next beat at at, or one (stretched) interval from the
// start when at is not after it.
func (bt *beat) schedule(s *State, at time.Time) {
	if !at.After(bt.start) {
		at = bt.start.Add(s.interval(bt.base))
	}
	s.NextBeat = at
}

// decided counts the decision, when one ran, in the day's decisions.
func (bt *beat) decided(s *State) {
	if bt.b.CostUSD > 0 || bt.ran {
		s.DayDecisions++
		s.DayDecisionCost += bt.b.CostUSD
	}
}

// afterDecision is the state change of a beat stopped by an error or a
// pause once the decision had its turn: the decision counts, and the next
// beat is one interval on.
func (bt *beat) afterDecision(s *State) {
	bt.decided(s)
	bt.schedule(s, time.Time{})
}

// valves is tier 0: it ends the beat when a valve the beat may not pass is
// closed, or when the heartbeat session is busy.
func (bt *beat) valves(ctx context.Context) (ended bool, err error) {
	e, b, hb := bt.e, &bt.b, bt.hb
	items, err := e.queue.List(ctx, queue.Filter{Session: hb.Session, Since: bt.start.Add(-25 * time.Hour)})
	if err != nil {
		return true, err
	}
	limits, err := e.sessions.RateLimits(ctx)
	if err != nil {
		return true, err
	}
	valves := evalValves(valveInput{now: bt.start, hb: hb, loc: bt.loc, st: bt.st, limits: limits,
		dayCost: bt.st.DayDecisionCost + e.dayCost(items, bt.st.Day)})
	for _, v := range valves {
		if bt.by.passes(v) {
			continue
		}
		b.Tier, b.Outcome, b.Valve, b.Reason = TierValve, OutcomeBlocked, v.Name, v.Name+": "+v.Detail
		at := v.Until
		if at.IsZero() {
			// Closed until a person acts (pause, auth): look again
			// daily, not every interval; resume brings the beat back.
			at = bt.start.Add(Recheck)
		}
		return true, bt.finish(ctx, func(s *State) { bt.schedule(s, at) })
	}
	if it, busy := busyItem(items); busy {
		b.Tier, b.Outcome = TierValve, OutcomeBusy
		b.Reason = fmt.Sprintf("the heartbeat session %s is busy (%s %s); the schedule is kept", hb.Session, it.ID, it.State)
		if !bt.opts.DryRun {
			e.logBusy(ctx, b)
		}
		return true, nil
	}
	return false, nil
}

// gate is tier 1: it reads the instructions and runs the gates, and ends
// the beat when there is no checklist and no gate fired.
func (bt *beat) gate(ctx context.Context) (in Instructions, ended bool, err error) {
	b, hb := &bt.b, bt.hb
	b.Tier = TierGate
	ipath, err := bt.cfg.HeartbeatInstructions()
	if err != nil {
		return in, true, err
	}
	in, err = ReadInstructions(ipath)
	if err != nil {
		b.Outcome, b.Reason = OutcomeError, "cannot read the instructions: "+err.Error()
		return in, true, bt.finish(ctx, func(s *State) { bt.schedule(s, time.Time{}) })
	}
	if len(hb.Gates) > 0 {
		b.Gates = runGates(ctx, hb.Gates, bt.e.sessionDir(), bt.e.childEnv(), time.Duration(hb.GateTimeout))
		if ctx.Err() != nil {
			return in, true, ctx.Err()
		}
	}
	fired := slices.ContainsFunc(b.Gates, func(g GateResult) bool { return g.Fired })
	if in.State != "ok" && !fired {
		b.Outcome = OutcomeSkip
		b.Reason = "nothing to do: the instructions are " + in.State
		switch {
		case len(b.Gates) == 0:
			b.Reason += " and there are no gates"
		default:
			b.Reason += " and no gate fired"
		}
		return in, true, bt.finish(ctx, func(s *State) { s.noop(); bt.schedule(s, time.Time{}) })
	}
	return in, false, nil
}

// decision is tier 2: it asks the decision run whether to act, and ends
// the beat unless the answer is a decision to act.
func (bt *beat) decision(ctx context.Context, in Instructions) (d Decision, ended bool, err error) {
	e, b := bt.e, &bt.b
	b.Tier = TierDecision
	recent, _ := e.Beats(ctx, 20)
	slices.Reverse(recent)
	prompt := decisionPrompt(bt.start, bt.loc, in, b.Gates, recent, bt.st, bt.hb.DailyActions)
	// The decision runs in the state directory: no project's CLAUDE.md
	// there to add tokens or steer it.
	run := e.decide(ctx, prompt, e.State.Root)
	if errors.Is(run.err, context.Canceled) && ctx.Err() != nil {
		return d, true, ctx.Err()
	}
	if run.rateLimit != nil {
		e.storeRateLimit(ctx, run.rateLimit)
	}
	if run.result != nil {
		b.CostUSD = run.result.CostUSD
		bt.ran = true
	}
	if ended, err := bt.decisionFailed(ctx, run); ended {
		return d, true, err
	}
	d, perr := ParseDecision(run.result.Text)
	if perr != nil {
		b.Decision = &Decision{Malformed: perr.Error(), Raw: oneLine(run.result.Text, 500)}
		b.Outcome, b.Reason = OutcomeSkip, "malformed decision, counted as a skip: "+perr.Error()
		e.Log.Warn().Str("answer", oneLine(run.result.Text, 500)).Err(perr).Msg("malformed decision")
		return d, true, bt.finish(ctx, func(s *State) { bt.decided(s); s.noop(); bt.schedule(s, time.Time{}) })
	}
	b.Decision = &d
	if !d.Act {
		b.Outcome, b.Reason = OutcomeSkip, "decided not to act: "+orNone(d.Reason)
		return d, true, bt.finish(ctx, func(s *State) { bt.decided(s); s.noop(); bt.schedule(s, time.Time{}) })
	}
	return d, false, nil
}

// decisionFailed ends the beat when the decision run gave no answer to
// read; an authentication or billing error pauses the heartbeat.
func (bt *beat) decisionFailed(ctx context.Context, run decisionRun) (ended bool, err error) {
	e, b := bt.e, &bt.b
	switch {
	case run.result != nil && streamjson.IsAuthError(run.result):
		b.Outcome = OutcomeError
		reason := oneLine(run.result.Text, 300)
		b.Reason = "authentication or billing error from claude: " + reason + "; the heartbeat is paused until ce-heartbeat resume"
		if bt.opts.DryRun {
			return true, bt.finish(ctx, nil)
		}
		err := bt.finish(ctx, func(s *State) {
			bt.decided(s)
			s.AuthPaused, s.AuthReason, s.AuthSince = true, reason, bt.start
			bt.schedule(s, time.Time{})
		})
		e.emit(eventlog.HeartbeatPaused, bt.hb.Session, "", map[string]any{"auth": true, "reason": reason})
		return true, err
	case run.err != nil:
		b.Outcome, b.Reason = OutcomeError, "the decision failed: "+run.err.Error()
		return true, bt.finish(ctx, bt.afterDecision)
	case run.result.IsError:
		if until, limited := streamjson.LimitReset(run.result, bt.start); limited {
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
		return true, bt.finish(ctx, bt.afterDecision)
	}
	return false, nil
}

// action is tier 3: it queues the decided task in the heartbeat session,
// unless this is a dry run or the heartbeat was paused meanwhile.
func (bt *beat) action(ctx context.Context, d Decision) error {
	e, b, hb := bt.e, &bt.b, bt.hb
	b.Tier, b.Outcome = TierAction, OutcomeAct
	if bt.opts.DryRun {
		b.Reason = "dry run: would queue in session " + hb.Session + ": " + oneLine(d.Prompt, 200)
		return bt.finish(ctx, nil)
	}
	if bt.pausedMeanwhile(ctx) {
		b.Outcome, b.Reason = OutcomeBlocked, b.Valve+": paused during the decision; nothing was queued"
		return bt.finish(ctx, bt.afterDecision)
	}
	if err := e.ensureSession(ctx); err != nil {
		b.Outcome, b.Reason = OutcomeError, err.Error()
		return bt.finish(ctx, bt.afterDecision)
	}
	e.p.Log = e.Log
	it, err := e.p.Enqueue(ctx, platform.Prompt{Session: hb.Session, Text: actionPrompt(bt.start, bt.loc, d), Source: Source})
	if err != nil {
		b.Outcome, b.Reason = OutcomeError, "cannot queue the action: "+err.Error()
		return bt.finish(ctx, bt.afterDecision)
	}
	b.Item = it.ID
	b.Reason = "queued " + it.ID + " in session " + hb.Session + ": " + orNone(d.Reason)
	return bt.finish(ctx, func(s *State) {
		bt.decided(s)
		s.DayActions++
		s.LastAction = bt.start
		s.Noops, s.Stretch = 0, 1
		bt.schedule(s, time.Time{})
	})
}

// pausedMeanwhile reports whether the switch or the auth valve closed
// while the decision ran (it takes a while), setting the beat's Valve to
// the one that did. A state it cannot read counts as not paused.
func (bt *beat) pausedMeanwhile(ctx context.Context) bool {
	cur, err := bt.e.Load(ctx)
	if err != nil {
		return false
	}
	switch {
	case cur.AuthPaused:
		bt.b.Valve = ValveAuth
	case cur.pausedAt(bt.e.now()) && !bt.by.all:
		bt.b.Valve = ValvePause
	}
	return bt.b.Valve != ""
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

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/text"
	"github.com/google/uuid"
)

// verdict is what the end of a run means for its item and its session.
type verdict struct {
	// parkUntil, when set, parks the item (and the session's later ones)
	// until the plan's usage limit lifts; reason says so.
	parkUntil time.Time
	reason    string

	state   string // done, failed or cancelled
	errText string
	text    string
	// cost is the run's own cost: claude reports the conversation's
	// running total.
	cost       float64
	durationMS int64
	tokens     session.Tokens
	stopped    bool // the user stopped it: the session shows stopped
}

// judge decides a run's verdict from its exit and summary; pre is the
// session before the run (nil when unknown), stderr the last line claude
// wrote there (read only for runs without a result).
func judge(e rundir.Exit, s streamjson.Summary, pre *session.Record, stderr string, now time.Time) verdict {
	if !e.Stopped && s.IsError && !s.LimitedUntil.IsZero() {
		until := s.LimitedUntil
		if !until.After(now) {
			until = now.Add(time.Minute)
		}
		return verdict{parkUntil: until, reason: "usage limit reached; resumes at " + until.Local().Format("2006-01-02 15:04")}
	}
	v := verdict{state: queue.Done}
	switch {
	case e.Stopped:
		v.state, v.errText, v.stopped = queue.Cancelled, "stopped: "+e.Reason, true
		if strings.HasPrefix(e.Reason, "timed out") {
			v.state, v.errText, v.stopped = queue.Failed, e.Reason, false
		}
	case !s.Result:
		v.state, v.errText = queue.Failed, fmt.Sprintf("claude exited with status %d without a result%s", e.Code, stderr)
		if e.Reason != "" {
			v.errText = e.Reason
		}
	case s.IsError:
		v.state, v.errText = queue.Failed, s.Error
	}
	if !s.Result {
		return v
	}
	v.text, v.durationMS, v.cost = s.Text, s.DurationMS, s.CostUSD
	v.tokens = session.Tokens{Input: s.Usage.InputTokens, Output: s.Usage.OutputTokens,
		CacheRead: s.Usage.CacheReadInputTokens, CacheCreation: s.Usage.CacheCreationInputTokens}
	if pre != nil && pre.Started && s.SessionID == pre.ClaudeSessionID && s.CostUSD >= pre.ConversationCostUSD {
		v.cost = s.CostUSD - pre.ConversationCostUSD
	}
	return v
}

// finishRun records the end of a run; pre is the session as the run
// started (nil when unknown).
func (d *Driver) finishRun(ctx context.Context, it queue.Item, e rundir.Exit, pre *session.Record) (queue.Item, error) {
	rd := rundir.Of(d.State, it.Session, it.Run)
	s := rd.Outcome(e)
	now := d.Now()
	if s.RateLimit != nil {
		d.storeRateLimit(ctx, it.Session, s.RateLimit, now)
	}
	if pre == nil {
		if rec, err := d.Sessions.Get(ctx, it.Session); err == nil {
			pre = &rec
		}
	}
	stderr := ""
	if !s.Result && !e.Stopped {
		stderr = lastStderr(rd)
	}
	v := judge(e, s, pre, stderr, now)
	if !v.parkUntil.IsZero() {
		return d.park(ctx, it, v, s)
	}
	end, err := d.Queue.Finish(ctx, it.ID, func(i *queue.Item) {
		i.State, i.Error, i.IsError = v.state, v.errText, v.state != queue.Done
		i.Result, i.CostUSD, i.DurationMS, i.Tokens = v.text, v.cost, v.durationMS, v.tokens
		i.Finished = e.Finished
	})
	if err != nil {
		return it, err
	}
	d.Emit(eventlog.RunFinished, it.Session, it.ID, map[string]any{
		"run": it.Run, "state": v.state, "cost_usd": v.cost, "duration_ms": v.durationMS, "error": v.errText,
	})
	_, err = d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Prompts++
		r.CostUSD += v.cost
		r.DurationMS += v.durationMS
		r.Tokens.Add(v.tokens)
		r.LastActive, r.LastError, r.Status, r.LastRun = now.UTC(), v.errText, session.Idle, it.Run
		if v.stopped {
			r.Status = session.Stopped
		}
		switch {
		case s.Result:
			r.Started, r.ConversationCostUSD = true, s.CostUSD
			if s.SessionID != "" {
				r.ClaudeSessionID = s.SessionID
			}
		case !r.Started:
			// No conversation was recorded: a fresh ID avoids "session
			// ID already in use" if claude wrote a partial transcript.
			r.ClaudeSessionID = uuid.NewString()
		}
		return nil
	})
	if errors.Is(err, session.ErrNotFound) {
		err = nil
	}
	return end, err
}

// park parks a run refused for plan limits, with the session's later items,
// until the limit lifts.
func (d *Driver) park(ctx context.Context, it queue.Item, v verdict, s streamjson.Summary) (queue.Item, error) {
	if err := d.Queue.Park(ctx, it.ID, v.parkUntil, v.reason); err != nil {
		return it, err
	}
	d.Emit(eventlog.RunParked, it.Session, it.ID, map[string]any{"run": it.Run, "until": v.parkUntil.UTC()})
	if _, err := d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Status, r.LastError, r.LastRun = session.Idle, v.reason, it.Run
		r.Started = r.Started || s.SessionID != ""
		return nil
	}); err != nil && !errors.Is(err, session.ErrNotFound) {
		return it, err
	}
	return d.Queue.Get(ctx, it.ID)
}

func (d *Driver) storeRateLimit(ctx context.Context, sess string, rl *streamjson.RateLimitState, now time.Time) {
	err := d.Sessions.SetRateLimit(ctx, session.RateLimit{Account: "default", Status: rl.Status, ResetsAt: rl.ResetsAt,
		Type: rl.Type, Utilization: rl.Utilization, Seen: now.UTC(), Session: sess})
	if err != nil {
		d.Log.Warn().Err(err).Msg("cannot store the rate-limit state")
	}
}

// failRun ends a run that produced no exit. Runs whose runner or tmux died
// are retried up to queue.retries times.
func (d *Driver) failRun(ctx context.Context, it queue.Item, reason string, retry bool) (queue.Item, error) {
	d.Log.Warn().Str("item", it.ID).Str("run", it.Run).Str("reason", reason).Msg("run failed")
	// The run will never write its exit: write it, so followers end too.
	rd := rundir.Of(d.State, it.Session, it.Run)
	if _, ok, _ := rd.ReadExit(); !ok {
		os.MkdirAll(string(rd), 0o700)
		rd.WriteExit(rundir.Exit{Code: -1, Reason: reason})
	}
	var end queue.Item
	var err error
	if retry && it.Attempts <= d.Config.Queue.Retries {
		if end, err = d.Queue.Requeue(ctx, it.ID, true, reason); err != nil {
			return it, err
		}
		d.Emit(eventlog.RunRetry, it.Session, it.ID, map[string]any{"run": it.Run, "reason": reason})
	} else {
		if end, err = d.Queue.Finish(ctx, it.ID, func(i *queue.Item) {
			i.State, i.Error, i.IsError = queue.Failed, reason, true
		}); err != nil {
			return it, err
		}
		d.Emit(eventlog.RunFinished, it.Session, it.ID, map[string]any{"run": it.Run, "state": queue.Failed, "error": reason})
	}
	_, err = d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Status, r.LastError, r.LastActive, r.LastRun = session.Idle, reason, d.Now().UTC(), it.Run
		return nil
	})
	if errors.Is(err, session.ErrNotFound) {
		err = nil
	}
	return end, err
}

// lastStderr is ": <the last line claude wrote on stderr>", or "".
func lastStderr(rd rundir.Dir) string {
	b, err := os.ReadFile(rd.Path(rundir.StderrFile))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if last := text.Line(lines[len(lines)-1], 300); last != "" {
		return ": " + last
	}
	return ""
}

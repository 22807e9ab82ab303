// Package dispatch drives queue items through runs: it claims the next item
// of a session, writes its run directory, hands it to the session's runner
// in tmux, waits for the exit and records the result on the item, the
// session and the event log. The queue worker (ce-queue serve/tick) and
// ce-session send (when no worker serves) use the same Driver, so a run is
// recorded the same way whoever drove it.
//
// Whoever drives a session holds its drive lock (<state>/locks/drive-<name>),
// so a running item whose lock is free was left by a driver that died and
// is recovered: finished from its exit file, followed if still running, or
// failed (and retried) if its tmux died.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/tmux"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
)

// Driver runs queue items.
type Driver struct {
	State      *statedir.Dir
	Config     *config.Config
	ConfigPath string
	Sessions   *session.Store
	Queue      *queue.Queue
	Events     *eventlog.Log
	Tmux       *tmux.Server
	Log        zerolog.Logger
	Now        func() time.Time
	// Runner is the command line that starts a session's runner; the
	// session name is appended.
	Runner []string
}

// New returns a driver for a state directory.
func New(st *statedir.Dir, cfg *config.Config, cfgPath string, log zerolog.Logger) (*Driver, error) {
	runnerCmd, err := RunnerCommand()
	if err != nil {
		return nil, err
	}
	args := append(runnerCmd, "runner", "--state-dir", st.Root)
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	return &Driver{
		State:      st,
		Config:     cfg,
		ConfigPath: cfgPath,
		Sessions:   session.Open(st),
		Queue:      queue.Open(st),
		Events:     eventlog.Open(st.Root, eventlog.Options{MaxSize: int64(cfg.Events.MaxSize), Keep: cfg.Events.Keep, LockDir: st.Path("locks")}),
		Tmux:       &tmux.Server{Socket: st.TmuxSocket()},
		Log:        log,
		Now:        time.Now,
		Runner:     args,
	}, nil
}

// RunnerCommand finds ce-queue, whose hidden "runner" subcommand is the
// runner: beside the running binary, else on PATH.
func RunnerCommand() ([]string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "ce-queue")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return []string{p}, nil
		}
	}
	p, err := exec.LookPath("ce-queue")
	if err != nil {
		return nil, errors.New("ce-queue not found beside this program or on PATH: install ce (make install) or add its bin directory to PATH")
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return []string{p}, nil
}

// ErrBusy means another process drives the session.
var ErrBusy = errors.New("session is driven by another process")

// DriveOptions bound DriveSession.
type DriveOptions struct {
	// Until stops after this item reached a final or parked state.
	Until string
	// Once stops after one item.
	Once bool
	// OnRun, if set, is called with each item as its run starts.
	OnRun func(queue.Item)
}

func (d *Driver) driveLock(name string) string { return d.State.Lock("drive-" + name) }

// Driving reports whether some process drives the session now.
func (d *Driver) Driving(name string) bool { return lockfile.Held(d.driveLock(name)) }

// DriveResult is what DriveSession ends with.
type DriveResult struct {
	// Wake is when a parked item becomes runnable (zero if none).
	Wake time.Time
	// Until is the DriveOptions.Until item once it is final or parked.
	Until *queue.Item
}

// DriveSession runs the session's items in order until none is runnable
// (or opts say stop). It returns ErrBusy if another process drives it.
func (d *Driver) DriveSession(ctx context.Context, name string, opts DriveOptions) (DriveResult, error) {
	var res DriveResult
	lk, err := lockfile.TryLock(d.driveLock(name))
	if err != nil {
		if errors.Is(err, lockfile.ErrBusy) {
			return res, ErrBusy
		}
		return res, err
	}
	defer lk.Unlock()
	for ctx.Err() == nil {
		it, recovered, ok, wake, err := d.Queue.Claim(ctx, name, d.Now())
		if err != nil {
			return res, err
		}
		if !ok {
			res.Wake = wake
			return res, nil
		}
		if opts.OnRun != nil {
			opts.OnRun(it)
		}
		var end queue.Item
		if recovered {
			end, err = d.recover(ctx, it)
		} else {
			end, err = d.execute(ctx, it)
		}
		if err != nil {
			return res, err
		}
		if end.ID == opts.Until && (end.Final() || end.State == queue.Parked) {
			res.Until = &end
			return res, nil
		}
		if opts.Once {
			return res, nil
		}
	}
	return res, ctx.Err()
}

func (d *Driver) warm() bool {
	return d.Config.Sessions.KeepWarm > 0 && d.Config.Sessions.MaxWarm > 0
}

func (d *Driver) emit(typ, sess, item string, data map[string]any) {
	if _, err := d.Events.Append(eventlog.Event{Type: typ, Session: sess, Item: item, Data: data}); err != nil {
		d.Log.Warn().Err(err).Str("event", typ).Msg("cannot append to the event log")
	}
}

// execute starts a freshly claimed item and waits for it.
func (d *Driver) execute(ctx context.Context, it queue.Item) (queue.Item, error) {
	now := d.Now().UTC()
	rec, err := d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Status, r.LastRun, r.LastActive = session.Busy, it.Run, now
		return nil
	})
	if errors.Is(err, session.ErrNotFound) {
		return d.Queue.Finish(ctx, it.ID, func(i *queue.Item) {
			i.State, i.Error = queue.Failed, "session "+it.Session+" no longer exists"
		})
	}
	if err != nil {
		return it, err
	}
	warm := d.warm()
	rd := rundir.Of(d.State, it.Session, it.Run)
	spec, err := d.Spec(rec, rd, warm)
	if err != nil {
		return d.failRun(ctx, it, "cannot build the run's command line: "+err.Error(), false)
	}
	for _, w := range spec.Warnings {
		d.Log.Warn().Str("session", it.Session).Msg(w)
	}
	req := rundir.Request{Session: it.Session, Run: it.Run, Item: it.ID, Argv: spec.Argv, Dir: rec.Dir, Warm: warm, Fingerprint: spec.Fingerprint}
	if err := rd.Create(req, it.Prompt); err != nil {
		return it, fmt.Errorf("write run directory: %w", err)
	}
	if err := spec.writeFiles(rd); err != nil {
		return it, fmt.Errorf("write run directory: %w", err)
	}
	d.emit("run.started", it.Session, it.ID, map[string]any{"run": it.Run, "attempt": it.Attempts})
	conn, err := d.ensureRunner(ctx, rec)
	if err != nil {
		return d.failRun(ctx, it, "cannot start the session's runner: "+err.Error(), false)
	}
	defer conn.Close()
	if m, err := conn.Send(runner.Message{Op: "run", Dir: string(rd)}); err != nil {
		if e, ok, _ := rd.ReadExit(); ok {
			return d.finishRun(ctx, it, e, &rec)
		}
		if m.Error != "" {
			return d.failRun(ctx, it, "the runner refused the run: "+m.Error, false)
		}
		return d.failRun(ctx, it, d.deathReason(ctx, it.Session), true)
	}
	return d.wait(ctx, it, rd, conn, &rec)
}

// wait follows a started run until its exit, enforcing the prompt timeout.
func (d *Driver) wait(ctx context.Context, it queue.Item, rd rundir.Dir, conn *runner.Conn, pre *session.Record) (queue.Item, error) {
	type answer struct {
		m   runner.Message
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		for {
			m, err := conn.Next()
			if err != nil || m.Event == "exit" {
				ch <- answer{m, err}
				return
			}
		}
	}()
	timeout := time.Duration(d.Config.Sessions.PromptTimeout)
	if !it.Started.IsZero() {
		timeout -= d.Now().Sub(it.Started)
	}
	timer := time.NewTimer(max(timeout, time.Second))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			// The run goes on in tmux; the next driver finishes it.
			return it, ctx.Err()
		case <-timer.C:
			d.stopRun(ctx, it.Session, it.Run, "timed out after "+time.Duration(d.Config.Sessions.PromptTimeout).String())
		case a := <-ch:
			if e, ok, _ := rd.ReadExit(); ok {
				return d.finishRun(ctx, it, e, pre)
			}
			if a.err == nil && a.m.Exit != nil {
				return d.finishRun(ctx, it, *a.m.Exit, pre)
			}
			return d.failRun(ctx, it, d.deathReason(ctx, it.Session), true)
		}
	}
}

func (d *Driver) deathReason(ctx context.Context, name string) string {
	if ok, err := d.Tmux.HasSession(ctx, name); err == nil && !ok {
		return "the session's tmux session died during the run"
	}
	return "the session's runner died during the run"
}

// stopRun asks the runner to stop a run; if the runner is gone, it kills
// the run's process group itself.
func (d *Driver) stopRun(ctx context.Context, name, run, reason string) bool {
	os.WriteFile(rundir.Of(d.State, name, run).Path(rundir.StopFile), []byte(reason+"\n"), 0o600)
	if sock, err := d.State.RunnerSocket(name); err == nil {
		if m, err := runner.Call(ctx, sock, runner.Message{Op: "stop", Run: run, Reason: reason}); err == nil && m.OK {
			return true
		}
	}
	return false
}

// recover handles an item left running by a driver that died.
func (d *Driver) recover(ctx context.Context, it queue.Item) (queue.Item, error) {
	rd := rundir.Of(d.State, it.Session, it.Run)
	d.Log.Info().Str("item", it.ID).Str("run", it.Run).Msg("recovering a run left by a driver that exited")
	if e, ok, err := rd.ReadExit(); err != nil || ok {
		if err != nil {
			return d.failRun(ctx, it, err.Error(), false)
		}
		return d.finishRun(ctx, it, e, nil)
	}
	if _, err := os.Stat(rd.Path(rundir.RequestFile)); err != nil {
		return d.Queue.Requeue(ctx, it.ID, false, "")
	}
	if won, err := rd.Claim("abandoned by a driver that exited before starting it"); err != nil {
		return it, err
	} else if won {
		return d.Queue.Requeue(ctx, it.ID, false, "")
	}
	sock, err := d.State.RunnerSocket(it.Session)
	if err != nil {
		return it, err
	}
	conn, err := runner.Dial(ctx, sock)
	if err == nil {
		defer conn.Close()
		if m, err := conn.Send(runner.Message{Op: "watch", Run: it.Run}); err == nil {
			if m.Event == "exit" && m.Exit != nil {
				if e, ok, _ := rd.ReadExit(); ok {
					return d.finishRun(ctx, it, e, nil)
				}
				return d.finishRun(ctx, it, *m.Exit, nil)
			}
			return d.wait(ctx, it, rd, conn, nil)
		}
	}
	if e, ok, _ := rd.ReadExit(); ok {
		return d.finishRun(ctx, it, e, nil)
	}
	return d.failRun(ctx, it, d.deathReason(ctx, it.Session), true)
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
		d.emit("run.retry", it.Session, it.ID, map[string]any{"run": it.Run, "reason": reason})
	} else {
		if end, err = d.Queue.Finish(ctx, it.ID, func(i *queue.Item) {
			i.State, i.Error, i.IsError = queue.Failed, reason, true
		}); err != nil {
			return it, err
		}
		d.emit("run.finished", it.Session, it.ID, map[string]any{"run": it.Run, "state": queue.Failed, "error": reason})
	}
	_, err = d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Status, r.LastError, r.LastActive = session.Idle, reason, d.Now().UTC()
		return nil
	})
	if errors.Is(err, session.ErrNotFound) {
		err = nil
	}
	return end, err
}

// Outcome is what a run's stream says.
type Outcome struct {
	Result    *streamjson.Result
	SessionID string
	RateLimit *streamjson.RateLimit
}

// ReadOutcome reads the result, conversation and latest rate limit of a run.
func ReadOutcome(rd rundir.Dir) (Outcome, error) {
	var o Outcome
	lines, err := rd.ReadStream()
	if err != nil {
		return o, err
	}
	for _, l := range lines {
		ev, err := streamjson.Parse(l)
		if err != nil {
			continue
		}
		if in, ok := ev.Init(); ok && in.SessionID != "" {
			o.SessionID = in.SessionID
		}
		if rl, ok := ev.RateLimit(); ok {
			o.RateLimit = rl
		}
		if r, ok := ev.Result(); ok {
			o.Result = r
		}
	}
	return o, nil
}

// finishRun records the end of a run from its exit file and stream; pre is
// the session as the run started (nil when unknown).
func (d *Driver) finishRun(ctx context.Context, it queue.Item, e rundir.Exit, pre *session.Record) (queue.Item, error) {
	rd := rundir.Of(d.State, it.Session, it.Run)
	out, err := ReadOutcome(rd)
	if err != nil {
		return it, err
	}
	now := d.Now()
	if out.RateLimit != nil {
		rl := session.RateLimit{Account: "default", Status: out.RateLimit.Status, ResetsAt: out.RateLimit.ResetsAt,
			Type: out.RateLimit.Type, Utilization: out.RateLimit.Utilization, Seen: now.UTC(), Session: it.Session}
		if err := d.Sessions.SetRateLimit(ctx, rl); err != nil {
			d.Log.Warn().Err(err).Msg("cannot store the rate-limit state")
		}
	}
	res := out.Result
	// A run refused for plan limits waits for the reset, with the
	// session's later items.
	if !e.Stopped && res != nil && res.IsError {
		until, limited := streamjson.LimitReset(res, now)
		if out.RateLimit != nil && out.RateLimit.Status == "rejected" {
			limited = true
			if !out.RateLimit.ResetsAt.IsZero() {
				until = out.RateLimit.ResetsAt
			}
		}
		if limited {
			if !until.After(now) {
				until = now.Add(time.Minute)
			}
			reason := "usage limit reached; resumes at " + until.Local().Format("2006-01-02 15:04")
			if err := d.Queue.Park(ctx, it.ID, until, reason); err != nil {
				return it, err
			}
			d.emit("run.parked", it.Session, it.ID, map[string]any{"run": it.Run, "until": until.UTC()})
			if _, err := d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
				r.Status, r.LastError = session.Idle, reason
				r.Started = r.Started || res.SessionID != ""
				return nil
			}); err != nil && !errors.Is(err, session.ErrNotFound) {
				return it, err
			}
			return d.Queue.Get(ctx, it.ID)
		}
	}
	state, errText := queue.Done, ""
	switch {
	case e.Stopped:
		state, errText = queue.Cancelled, "stopped: "+e.Reason
		if strings.HasPrefix(e.Reason, "timed out") {
			state, errText = queue.Failed, e.Reason
		}
	case res == nil:
		state, errText = queue.Failed, fmt.Sprintf("claude exited with status %d without a result%s", e.Code, lastStderr(rd))
		if e.Reason != "" {
			errText = e.Reason
		}
	case res.IsError:
		state, errText = queue.Failed, res.Text
		if errText == "" {
			errText = strings.Join(res.Errors, "; ")
		}
		if errText == "" {
			errText = res.Subtype
		}
	}
	var tokens session.Tokens
	var cost float64
	var dur int64
	text := ""
	if res != nil {
		tokens = session.Tokens{Input: res.Usage.InputTokens, Output: res.Usage.OutputTokens,
			CacheRead: res.Usage.CacheReadInputTokens, CacheCreation: res.Usage.CacheCreationInputTokens}
		cost, dur, text = res.CostUSD, res.DurationMS, res.Text
		// claude reports the conversation's running total, also across
		// --resume: the run's own cost is the difference.
		if pre == nil {
			if rec, err := d.Sessions.Get(ctx, it.Session); err == nil {
				pre = &rec
			}
		}
		if pre != nil && pre.Started && res.SessionID == pre.ClaudeSessionID && res.CostUSD >= pre.ConversationCostUSD {
			cost = res.CostUSD - pre.ConversationCostUSD
		}
	}
	end, err := d.Queue.Finish(ctx, it.ID, func(i *queue.Item) {
		i.State, i.Error, i.IsError = state, errText, state != queue.Done
		i.Result, i.CostUSD, i.DurationMS, i.Tokens = truncate(text, 64<<10), cost, dur, tokens
		i.Finished = e.Finished
	})
	if err != nil {
		return it, err
	}
	d.emit("run.finished", it.Session, it.ID, map[string]any{
		"run": it.Run, "state": state, "cost_usd": cost, "duration_ms": dur, "error": errText,
	})
	_, err = d.Sessions.Update(ctx, it.Session, func(r *session.Record) error {
		r.Prompts++
		r.CostUSD += cost
		r.DurationMS += dur
		r.Tokens.Add(tokens)
		r.LastActive = now.UTC()
		r.LastError = errText
		r.Status = session.Idle
		if e.Stopped && state == queue.Cancelled {
			r.Status = session.Stopped
		}
		switch {
		case res != nil:
			r.Started = true
			r.ConversationCostUSD = res.CostUSD
			if res.SessionID != "" {
				r.ClaudeSessionID = res.SessionID
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

func lastStderr(rd rundir.Dir) string {
	b, err := os.ReadFile(rd.Path(rundir.StderrFile))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	return ": " + truncate(last, 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ensureRunner connects to the session's runner, starting it in tmux (or
// respawning it in its pane) when it does not answer.
func (d *Driver) ensureRunner(ctx context.Context, rec session.Record) (*runner.Conn, error) {
	sock, err := d.State.RunnerSocket(rec.Name)
	if err != nil {
		return nil, err
	}
	if c, err := runner.Dial(ctx, sock); err == nil {
		return c, nil
	}
	if err := d.StartRunner(ctx, rec); err != nil {
		return nil, err
	}
	return runner.Dial(ctx, sock)
}

// StartRunner starts the runner of a session in its tmux session, creating
// the tmux session if needed, and waits until it answers.
func (d *Driver) StartRunner(ctx context.Context, rec session.Record) error {
	sock, err := d.State.RunnerSocket(rec.Name)
	if err != nil {
		return err
	}
	argv := append(append([]string(nil), d.Runner...), rec.Name)
	has, err := d.Tmux.HasSession(ctx, rec.Name)
	if err != nil {
		return err
	}
	dir := rec.Dir
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("the session's directory %s is missing", dir)
	}
	if has {
		err = d.Tmux.Respawn(ctx, rec.Name, dir, argv)
	} else {
		err = d.Tmux.NewSession(ctx, rec.Name, dir, argv)
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for delay := time.Millisecond; time.Now().Before(deadline); delay = min(delay*2, 50*time.Millisecond) {
		if c, err := runner.Dial(ctx, sock); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(delay)
	}
	return fmt.Errorf("the runner of session %s did not start within 10s: see ce-session attach %s", rec.Name, rec.Name)
}

// Stop interrupts the running item of a session; clear also cancels its
// queued items. It returns whether a run was stopped and how many items
// were cancelled.
func (d *Driver) Stop(ctx context.Context, name string, clear bool) (bool, int, error) {
	n := 0
	if clear {
		var err error
		if n, err = d.Queue.CancelSession(ctx, name); err != nil {
			return false, 0, err
		}
	}
	items, err := d.Queue.List(ctx, queue.Filter{Session: name, State: queue.Running})
	if err != nil {
		return false, n, err
	}
	stopped := false
	for _, it := range items {
		if d.stopRun(ctx, name, it.Run, "stopped by the user") {
			stopped = true
			continue
		}
		// No runner: kill the run's process group directly.
		rd := rundir.Of(d.State, name, it.Run)
		if pid := rd.PID(); pid > 0 {
			killGroup(pid)
			stopped = true
		}
	}
	if !stopped {
		_, err = d.Sessions.Update(ctx, name, func(r *session.Record) error {
			if r.Status == session.Busy {
				r.Status = session.Stopped
			}
			return nil
		})
	}
	return stopped, n, err
}

// killGroup ends a run's process group when its runner is gone: SIGTERM,
// then SIGKILL if it is still there after a grace period.
func killGroup(pid int) {
	syscall.Kill(-pid, syscall.SIGTERM)
	for i := 0; i < 30; i++ {
		if syscall.Kill(-pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
}

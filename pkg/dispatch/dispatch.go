// Package dispatch drives queue items through runs: it claims the next item
// of a session, writes its run directory, hands it to the session's runner
// in tmux over one connection that brings back every line of the run and
// then its exit (with the summary the runner collected), and records the
// outcome on the item, the session and the event log. The queue worker
// (ce-queue serve/tick) and ce-session send (when no worker serves) use the
// same Driver, so a run is recorded the same way whoever drove it.
//
// Whoever drives a session holds its drive lock (<state>/locks/drive-<name>),
// so a running item whose lock is free was left by a driver that died and
// is recovered: finished from its exit file, followed if still running, or
// failed (and retried) if its tmux died. ce(7) describes the whole flow.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/rs/zerolog"
)

// Driver runs queue items.
type Driver struct {
	*platform.Platform
}

// New returns a driver for a state directory.
func New(st *statedir.Dir, cfg *config.Config, cfgPath string, log zerolog.Logger) *Driver {
	return &Driver{platform.Open(st, cfg, cfgPath, log)}
}

// ErrBusy means another process drives the session.
var ErrBusy = errors.New("session is driven by another process")

// LineFunc receives one stream line of a run of item it, as the runner read
// it. An error stops the deliveries, not the run.
type LineFunc func(it queue.Item, line []byte) error

// DriveOptions bound DriveSession.
type DriveOptions struct {
	// Until stops after this item reached a final or parked state.
	Until string
	// Once stops after one item.
	Once bool
	// Lines, if set, receives the lines of every run driven.
	Lines LineFunc
}

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
	lk, err := lockfile.TryLock(d.DriveLock(name))
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
		var end queue.Item
		if recovered {
			end, err = d.recover(ctx, it, opts.Lines)
		} else {
			end, err = d.execute(ctx, it, opts.Lines)
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

// execute starts a freshly claimed item and waits for it.
func (d *Driver) execute(ctx context.Context, it queue.Item, lines LineFunc) (queue.Item, error) {
	// The session's record is read, not written: that it is busy shows in
	// the queue, and the record changes once, when the run ends.
	rec, err := d.Sessions.Get(ctx, it.Session)
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
	d.Emit(eventlog.RunStarted, it.Session, it.ID, map[string]any{"run": it.Run, "attempt": it.Attempts})
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
	return d.wait(ctx, it, rd, conn, &rec, lines)
}

// runEnd is how a run's connection ended: its exit, or the error that cut
// the connection (the runner died).
type runEnd struct {
	exit *rundir.Exit
	err  error
}

// wait reads a started run's lines and exit from conn, handing the lines to
// fn, and records the run; it enforces the prompt timeout. pre is the
// session as the run started (nil when unknown).
func (d *Driver) wait(ctx context.Context, it queue.Item, rd rundir.Dir, conn *runner.Conn, pre *session.Record, fn LineFunc) (queue.Item, error) {
	ended := make(chan runEnd, 1)
	go func() { ended <- readRun(conn, rd, it, fn) }()
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
			d.StopRun(ctx, it.Session, it.Run, "timed out after "+time.Duration(d.Config.Sessions.PromptTimeout).String())
		case end := <-ended:
			if end.exit != nil {
				return d.finishRun(ctx, it, *end.exit, pre)
			}
			if e, ok, _ := rd.ReadExit(); ok {
				return d.finishRun(ctx, it, e, pre)
			}
			return d.failRun(ctx, it, d.deathReason(ctx, it.Session), true)
		}
	}
}

// readRun reads line, cut and exit messages until the exit. Lines go to fn
// until it fails; a follower that was cut off, or a runner that sent no
// lines at all (an older one), gets the rest from stream.jsonl.
func readRun(conn *runner.Conn, rd rundir.Dir, it queue.Item, fn LineFunc) runEnd {
	n, cut := 0, false
	deliver := func(l []byte) {
		if fn != nil && fn(it, l) != nil {
			fn = nil
		}
	}
	for {
		m, err := conn.Next()
		if err != nil {
			return runEnd{err: err}
		}
		switch m.Event {
		case "line":
			n++
			if !cut {
				deliver([]byte(m.Line))
			}
		case "cut":
			cut = true
		case "exit":
			if m.Exit == nil {
				return runEnd{err: errors.New("the runner sent an exit without status")}
			}
			from := -1
			switch {
			case cut:
				from = n
			case n == 0 && m.Exit.Summary == nil:
				from = 0 // an older runner sends no lines
			}
			if fn != nil && from >= 0 {
				lines, _ := rd.ReadStream()
				for _, l := range lines[min(from, len(lines)):] {
					deliver(l)
				}
			}
			return runEnd{exit: m.Exit}
		}
	}
}

func (d *Driver) deathReason(ctx context.Context, name string) string {
	if ok, err := d.Tmux.HasSession(ctx, name); err == nil && !ok {
		return "the session's tmux session died during the run"
	}
	return "the session's runner died during the run"
}

// recover handles an item left running by a driver that died.
func (d *Driver) recover(ctx context.Context, it queue.Item, lines LineFunc) (queue.Item, error) {
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
	if conn, err := runner.Dial(ctx, sock); err == nil {
		defer conn.Close()
		if m, err := conn.Send(runner.Message{Op: "watch", Run: it.Run}); err == nil {
			if m.Event == "exit" && m.Exit != nil {
				return d.finishRun(ctx, it, *m.Exit, nil)
			}
			return d.wait(ctx, it, rd, conn, nil, lines)
		}
	}
	if e, ok, _ := rd.ReadExit(); ok {
		return d.finishRun(ctx, it, e, nil)
	}
	return d.failRun(ctx, it, d.deathReason(ctx, it.Session), true)
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

package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
)

// FollowRun delivers every line of a run to fn, from its first, as the
// runner reads them, and returns the run's exit. It asks the session's
// runner for the lines (sub-millisecond, and no inotify instance, whose
// teardown costs a short-lived command 10-20 ms); when the runner cannot
// give them it reads stream.jsonl, following it with fsnotify.
func (d *Driver) FollowRun(ctx context.Context, sess, run string, fn func([]byte) error) (rundir.Exit, error) {
	rd := rundir.Of(d.State, sess, run)
	sock, err := d.State.RunnerSocket(sess)
	if err != nil {
		return rd.Follow(ctx, fn)
	}
	delay := 500 * time.Microsecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		if e, ok, err := rd.ReadExit(); err != nil || ok {
			if err != nil {
				return e, err
			}
			return e, replay(rd, fn)
		}
		conn, err := runner.Dial(ctx, sock)
		if err != nil {
			return rd.Follow(ctx, fn)
		}
		m, err := conn.Send(runner.Message{Op: "watch", Run: run})
		if err == nil && m.Event == "running" {
			n := 0
			counted := func(l []byte) error { n++; return fn(l) }
			e, err := streamLines(conn, counted)
			conn.Close()
			if err == nil {
				return e, nil
			}
			// Cut off or the runner died: the file has the rest.
			return rd.Follow(ctx, skipFirst(fn, n))
		}
		conn.Close()
		if err == nil && m.Event == "exit" {
			continue // finished in between: the exit file is there
		}
		// Not started yet (the driver is about to hand it over).
		if time.Now().After(deadline) {
			return rd.Follow(ctx, fn)
		}
		select {
		case <-ctx.Done():
			return rundir.Exit{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// streamLines reads line events until the exit.
func streamLines(conn *runner.Conn, fn func([]byte) error) (rundir.Exit, error) {
	for {
		m, err := conn.Next()
		if err != nil {
			return rundir.Exit{}, err
		}
		switch m.Event {
		case "line":
			if err := fn([]byte(m.Line)); err != nil {
				return rundir.Exit{}, err
			}
		case "exit":
			if m.Exit == nil {
				return rundir.Exit{}, errors.New("runner sent an exit without status")
			}
			return *m.Exit, nil
		}
	}
}

func replay(rd rundir.Dir, fn func([]byte) error) error {
	lines, err := rd.ReadStream()
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

// skipFirst wraps fn to skip the first n lines.
func skipFirst(fn func([]byte) error, n int) func([]byte) error {
	return func(l []byte) error {
		if n > 0 {
			n--
			return nil
		}
		return fn(l)
	}
}

// WaitFinal waits until item it is final or parked, driving its session
// whenever nobody else does: this is how ce-session send works with or
// without a worker. onRun is called with the item each time a run of it
// starts (a retry is a new run).
func (d *Driver) WaitFinal(ctx context.Context, it queue.Item, onRun func(queue.Item)) (queue.Item, error) {
	var w *Watch
	defer w.Close()
	seen := ""
	for {
		if it.Run != "" && it.Run != seen && (it.State == queue.Running || it.Final()) {
			seen = it.Run
			onRun(it)
		}
		if it.Final() || it.State == queue.Parked {
			return it, nil
		}
		if !d.WorkerServing() {
			res, err := d.DriveSession(ctx, it.Session, DriveOptions{Until: it.ID, OnRun: func(r queue.Item) {
				if r.ID == it.ID {
					seen = r.Run
					onRun(r)
				}
			}})
			if err != nil && !errors.Is(err, ErrBusy) {
				return it, err
			}
			if res.Until != nil {
				return *res.Until, nil
			}
		}
		if w == nil {
			// Someone else drives: wake on queue changes.
			var err error
			if w, err = d.WatchFile("queue.db"); err != nil {
				return it, err
			}
		} else {
			select {
			case <-ctx.Done():
				return it, ctx.Err()
			case <-w.C:
			case <-time.After(2 * time.Second):
				// A safety net only: changes arrive through the watch.
			}
		}
		var err error
		if it, err = d.Queue.Get(ctx, it.ID); err != nil {
			return it, err
		}
	}
}

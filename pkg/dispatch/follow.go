package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/statedir"
)

// FollowRun delivers every line of a run to fn, from its first, as the
// runner reads them, and returns the run's exit: for followers that do not
// drive the run (tail -f, a send whose item the worker runs). It asks the
// session's runner to watch the run (sub-millisecond, and no inotify
// instance, whose teardown costs a short-lived command 10-20 ms); when the
// runner cannot give the lines it reads stream.jsonl, following it with
// fsnotify.
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
			// Cut off, or the runner died: the file has the rest.
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

// errCut means the runner cut a follower off: it fell too far behind.
var errCut = errors.New("cut off by the runner")

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
		case "cut":
			return rundir.Exit{}, errCut
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

// Await waits until item it is final or parked, and hands fn the lines of
// each of its runs as they are read. When no worker serves, this process
// drives the session itself (the lines then come over the run's own
// connection); otherwise it follows the runs the worker drives. This is how
// ce-session send works with or without a worker.
func (d *Driver) Await(ctx context.Context, it queue.Item, fn LineFunc) (queue.Item, error) {
	var w *statedir.Watch
	defer w.Close()
	mine := func(r queue.Item, l []byte) error {
		if r.ID != it.ID {
			return nil
		}
		return fn(r, l)
	}
	followed := ""
	for {
		if it.Final() || it.State == queue.Parked {
			return it, nil
		}
		if !d.WorkerServing() {
			res, err := d.DriveSession(ctx, it.Session, DriveOptions{Until: it.ID, Lines: mine})
			if err != nil && !errors.Is(err, ErrBusy) {
				return it, err
			}
			if res.Until != nil {
				return *res.Until, nil
			}
		}
		switch {
		case it.State == queue.Running && it.Run != followed:
			followed = it.Run
			cur := it
			if _, err := d.FollowRun(ctx, it.Session, it.Run, func(l []byte) error { return fn(cur, l) }); err != nil && ctx.Err() != nil {
				return it, ctx.Err()
			}
		case w == nil:
			// Someone else drives: wake on queue changes.
			var err error
			if w, err = d.State.Watch(queue.DBFile); err != nil {
				return it, err
			}
		default:
			select {
			case <-ctx.Done():
				return it, ctx.Err()
			case <-w.C:
			case <-time.After(2 * time.Second):
				// A safety net only, for a worker that went away:
				// changes arrive through the watch.
			}
		}
		var err error
		if it, err = d.Queue.Get(ctx, it.ID); err != nil {
			return it, err
		}
	}
}

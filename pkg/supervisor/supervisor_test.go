package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

var fastPolicy = Policy{
	MinBackoff: 10 * time.Millisecond,
	MaxBackoff: 40 * time.Millisecond,
	MaxCrashes: 4,
	Window:     5 * time.Second,
	Grace:      2 * time.Second,
	ReadyWait:  2 * time.Second,
}

func newSup(t *testing.T, pieces ...Piece) *Supervisor {
	dir := t.TempDir()
	return &Supervisor{
		Pieces: pieces, Policy: fastPolicy, LogDir: dir,
		StatusFile: filepath.Join(dir, "supervisor.json"),
		Logf:       t.Logf,
	}
}

func sh(name, script string) Piece {
	return Piece{Name: name, Path: "/bin/sh", Args: []string{"-c", script}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pieceOf is piece i, or a zero status before Run has set them up.
func pieceOf(s *Supervisor, i int) PieceStatus {
	st := s.Snapshot()
	if i >= len(st.Pieces) {
		return PieceStatus{}
	}
	return st.Pieces[i]
}

func start(t *testing.T, s *Supervisor) (cancel func() error) {
	ctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	return func() error { stop(); return <-errc }
}

// A child that always crashes is restarted with doubling delays and then
// given up on, loudly, after MaxCrashes crashes within the window.
func TestGiveUpAfterRepeatedCrashes(t *testing.T) {
	s := newSup(t, sh("crash", "echo boom; exit 3"))
	began := time.Now()
	stop := start(t, s)
	defer stop()
	waitFor(t, "failed", func() bool { return pieceOf(s, 0).State == StateFailed })
	ps := pieceOf(s, 0)
	if ps.Restarts != fastPolicy.MaxCrashes-1 {
		t.Errorf("restarts = %d, want %d", ps.Restarts, fastPolicy.MaxCrashes-1)
	}
	if ps.LastError != "exited with status 3" {
		t.Errorf("last error = %q", ps.LastError)
	}
	// Backoffs 10+20+40 ms (capped at 40) before giving up.
	if el := time.Since(began); el < 70*time.Millisecond {
		t.Errorf("gave up after %s, faster than the backoff allows", el)
	}
	out, _ := os.ReadFile(filepath.Join(s.LogDir, "crash.out"))
	if string(out) != "boom\nboom\nboom\nboom\n" {
		t.Errorf("crash.out = %q", out)
	}
	st, err := ReadStatus(s.StatusFile)
	if err != nil || st.Pieces[0].State != StateFailed || st.PID != os.Getpid() {
		t.Fatalf("status file: %+v, %v", st, err)
	}
}

// A killed child comes back with a new pid and one restart counted.
func TestRestartAfterKill(t *testing.T) {
	s := newSup(t, sh("sleeper", "exec sleep 30"))
	stop := start(t, s)
	waitFor(t, "running", func() bool { return pieceOf(s, 0).State == StateRunning })
	pid := pieceOf(s, 0).PID
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "restart", func() bool {
		ps := pieceOf(s, 0)
		return ps.State == StateRunning && ps.PID != pid
	})
	ps := pieceOf(s, 0)
	if ps.Restarts != 1 || ps.LastError != "killed by signal 9 (killed)" {
		t.Errorf("after kill: %+v", ps)
	}
	newPID := ps.PID
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if Alive(newPID) {
		t.Errorf("child %d still alive after stop", newPID)
	}
	st, _ := ReadStatus(s.StatusFile)
	if st.State != StateStopped || st.Pieces[0].State != StateStopped {
		t.Errorf("status after stop: %+v", st)
	}
}

// Pieces after a Ready piece wait for it; a piece that never gets ready
// stops Run with an error and leaves nothing running.
func TestReadyOrder(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ready")
	first := sh("first", "sleep 0.2; touch "+marker+"; exec sleep 30")
	first.Ready = func(context.Context) error {
		if _, err := os.Stat(marker); err != nil {
			return err
		}
		return nil
	}
	second := sh("second", "test -e "+marker+" || exit 7; exec sleep 30")
	s := newSup(t, first, second)
	stop := start(t, s)
	waitFor(t, "both running", func() bool {
		st := s.Snapshot()
		return st.State == StateRunning && len(st.Pieces) > 1 && st.Pieces[1].State == StateRunning
	})
	if r := pieceOf(s, 1).Restarts; r != 0 {
		t.Errorf("second started before first was ready (%d restarts)", r)
	}
	stop()

	never := sh("never", "exec sleep 30")
	never.Ready = func(context.Context) error { return errors.New("not yet") }
	s = newSup(t, never)
	s.Policy.ReadyWait = 100 * time.Millisecond
	err := s.Run(context.Background())
	if err == nil {
		t.Fatal("Run succeeded with a piece that is never ready")
	}
	if st := s.Snapshot(); st.Pieces[0].State != StateStopped || st.State != StateStopped {
		t.Errorf("after failed start: %+v", st)
	}
}

// A child that ignores SIGTERM is killed after the grace period.
func TestStopKillsAfterGrace(t *testing.T) {
	s := newSup(t, sh("stubborn", "trap '' TERM; while :; do sleep 0.05; done"))
	s.Policy.Grace = 200 * time.Millisecond
	stop := start(t, s)
	waitFor(t, "running", func() bool { return pieceOf(s, 0).State == StateRunning })
	time.Sleep(50 * time.Millisecond) // let the shell install its trap
	pid := pieceOf(s, 0).PID
	began := time.Now()
	stop()
	if el := time.Since(began); el < 200*time.Millisecond {
		t.Errorf("stopped after %s, before the grace period", el)
	}
	// The group's last members are reaped by init, not at once.
	waitFor(t, "process group gone", func() bool { return syscall.Kill(-pid, 0) != nil })
}

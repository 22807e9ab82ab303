// Package supervisor runs the platform's long-running pieces as children of
// one process (ce up): the broker first, then the daemons, each in its own
// process group with its stdio appended to logs/<piece>.out. A child that
// dies is restarted with exponential backoff; one that keeps crashing is
// given up on and marked failed. The state of every piece is written
// atomically to <state>/supervisor.json so that ce status can read it
// without a broker; that file's format is implementation, not a contract.
package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/agentenv"
	"github.com/ce-platform/ce/pkg/statedir"
)

// Piece states, as written to the status file.
const (
	StateStarting = "starting"
	StateRunning  = "running"
	StateBackoff  = "backoff"
	StateFailed   = "failed"
	StateStopped  = "stopped"
	// StateDisabled marks a piece a reload turned off.
	StateDisabled = "disabled"
)

// Piece is one child to keep running.
type Piece struct {
	Name string   // short name: bridge, queue, cron...
	Path string   // executable
	Args []string // arguments after the executable
	Env  []string // extra environment, appended to the supervisor's
	// Ready, when set, is polled after the start until it returns nil; the
	// pieces after this one start only then.
	Ready func(ctx context.Context) error
}

// Policy says how dead children are restarted.
type Policy struct {
	MinBackoff time.Duration // first restart delay, doubled per crash
	MaxBackoff time.Duration
	MaxCrashes int           // crashes within Window that make a piece failed
	Window     time.Duration // also: a child that ran this long resets the backoff
	Grace      time.Duration // SIGTERM to SIGKILL at shutdown
	ReadyWait  time.Duration // how long a Ready piece may take
}

// DefaultPolicy is ce up's policy: 100 ms doubling to 30 s, failed after 5
// crashes in 60 s, 10 s of grace at shutdown.
var DefaultPolicy = Policy{
	MinBackoff: 100 * time.Millisecond,
	MaxBackoff: 30 * time.Second,
	MaxCrashes: 5,
	Window:     60 * time.Second,
	Grace:      10 * time.Second,
	ReadyWait:  10 * time.Second,
}

// PieceStatus is one piece in the status file.
type PieceStatus struct {
	Name      string    `json:"name"`
	Command   []string  `json:"command"`
	PID       int       `json:"pid,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Restarts  int       `json:"restarts"`
	State     string    `json:"state"`
	LastError string    `json:"last_error,omitempty"`
}

// Status is the content of supervisor.json.
type Status struct {
	PID     int           `json:"pid"`
	Started time.Time     `json:"started"`
	State   string        `json:"state"` // starting, running, stopped
	Pieces  []PieceStatus `json:"pieces"`
}

// StatusFile is where the status lives in a state directory.
func StatusFile(st *statedir.Dir) string { return st.Path("supervisor.json") }

// ReadStatus reads a status file.
func ReadStatus(path string) (*Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Supervisor runs pieces. Set the fields, then call Run once.
type Supervisor struct {
	Pieces     []Piece
	Policy     Policy
	LogDir     string                        // children's stdio go to LogDir/<name>.out
	StatusFile string                        // "" writes no status
	Logf       func(format string, a ...any) // events worth a line in the log
	// Reload, when it delivers, carries the pieces of a re-read config:
	// pieces no longer listed are stopped, new ones started, and the
	// others get SIGHUP to apply what they can.
	Reload <-chan []Piece

	mu     sync.Mutex
	status Status
}

// slot is a supervised piece.
type slot struct {
	piece  Piece
	index  int // in status.Pieces
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Supervisor) logf(format string, a ...any) {
	if s.Logf != nil {
		s.Logf(format, a...)
	}
}

// Run starts the pieces in order and supervises them until ctx is done,
// then stops them in reverse order (the broker last) and returns. It
// returns an error when a Ready piece does not become ready.
func (s *Supervisor) Run(ctx context.Context) error {
	s.mu.Lock()
	s.status = Status{PID: os.Getpid(), Started: time.Now().UTC(), State: StateStarting}
	for _, p := range s.Pieces {
		s.status.Pieces = append(s.status.Pieces, PieceStatus{Name: p.Name, Command: append([]string{p.Path}, p.Args...), State: StateStarting})
	}
	s.writeLocked()
	s.mu.Unlock()

	// Each piece gets its own context, so shutdown can go in reverse order.
	var order []*slot
	stopAll := func() {
		for i := len(order) - 1; i >= 0; i-- {
			order[i].cancel()
			<-order[i].done
		}
		s.update(-1, func(st *Status, _ *PieceStatus) { st.State = StateStopped })
	}
	start := func(sl *slot) {
		pctx, cancel := context.WithCancel(context.Background())
		sl.cancel, sl.done = cancel, make(chan struct{})
		go func() {
			defer close(sl.done)
			s.supervise(pctx, sl.index, sl.piece)
		}()
	}
	for i, p := range s.Pieces {
		sl := &slot{piece: p, index: i}
		order = append(order, sl)
		start(sl)
		if p.Ready != nil {
			if err := s.waitReady(ctx, i, p); err != nil {
				stopAll()
				return err
			}
		}
	}
	s.update(-1, func(st *Status, _ *PieceStatus) { st.State = StateRunning })
	for {
		select {
		case <-ctx.Done():
			stopAll()
			return nil
		case pieces := <-s.Reload:
			order = s.reload(order, pieces, start)
		}
	}
}

// reload applies a new list of pieces to the running ones and returns the
// new running order.
func (s *Supervisor) reload(order []*slot, pieces []Piece, start func(*slot)) []*slot {
	want := map[string]Piece{}
	for _, p := range pieces {
		want[p.Name] = p
	}
	var kept []*slot
	have := map[string]bool{}
	for i := len(order) - 1; i >= 0; i-- {
		sl := order[i]
		if _, ok := want[sl.piece.Name]; ok {
			have[sl.piece.Name] = true
			continue
		}
		s.logf("%s: no longer enabled; stopping it", sl.piece.Name)
		sl.cancel()
		<-sl.done
		s.update(sl.index, func(_ *Status, ps *PieceStatus) { ps.State = StateDisabled })
	}
	for _, sl := range order {
		if have[sl.piece.Name] {
			kept = append(kept, sl)
			if pid := s.piece(sl.index).PID; pid > 0 {
				syscall.Kill(pid, syscall.SIGHUP)
			}
		}
	}
	for _, p := range pieces {
		if have[p.Name] {
			continue
		}
		s.mu.Lock()
		s.status.Pieces = append(s.status.Pieces, PieceStatus{Name: p.Name, Command: append([]string{p.Path}, p.Args...), State: StateStarting})
		idx := len(s.status.Pieces) - 1
		s.writeLocked()
		s.mu.Unlock()
		s.logf("%s: newly enabled; starting it", p.Name)
		sl := &slot{piece: p, index: idx}
		start(sl)
		kept = append(kept, sl)
	}
	return kept
}

func (s *Supervisor) waitReady(ctx context.Context, i int, p Piece) error {
	deadline := time.Now().Add(s.Policy.ReadyWait)
	var err error
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.piece(i).State == StateFailed {
			return fmt.Errorf("%s failed to start: %s", p.Name, s.piece(i).LastError)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err = p.Ready(cctx)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %v", p.Name, s.Policy.ReadyWait, err)
}

// supervise keeps piece i running until ctx is done.
func (s *Supervisor) supervise(ctx context.Context, i int, p Piece) {
	backoff := s.Policy.MinBackoff
	var crashes []time.Time
	for {
		started := time.Now()
		err := s.runOnce(ctx, i, p)
		if ctx.Err() != nil {
			s.update(i, func(_ *Status, ps *PieceStatus) { ps.State, ps.PID = StateStopped, 0 })
			return
		}
		now := time.Now()
		if now.Sub(started) >= s.Policy.Window {
			backoff = s.Policy.MinBackoff
		}
		kept := crashes[:0]
		for _, t := range crashes {
			if now.Sub(t) < s.Policy.Window {
				kept = append(kept, t)
			}
		}
		crashes = append(kept, now)
		msg := err.Error()
		if len(crashes) >= s.Policy.MaxCrashes {
			s.logf("%s: giving up after %d crashes within %s: %s", p.Name, len(crashes), s.Policy.Window, msg)
			s.update(i, func(_ *Status, ps *PieceStatus) { ps.State, ps.PID, ps.LastError = StateFailed, 0, msg })
			return
		}
		s.logf("%s: %s; restarting in %s", p.Name, msg, backoff)
		s.update(i, func(_ *Status, ps *PieceStatus) { ps.State, ps.PID, ps.LastError = StateBackoff, 0, msg })
		select {
		case <-ctx.Done():
			s.update(i, func(_ *Status, ps *PieceStatus) { ps.State = StateStopped })
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.Policy.MaxBackoff)
		s.update(i, func(_ *Status, ps *PieceStatus) { ps.Restarts++ })
	}
}

// pieceEnv is the environment of a piece: ce up's, but the variables that
// lead to secrets (the vault's passphrase file) go to the piece that needs
// them only; the queue worker, which starts ce's tmux server, never has
// them.
func pieceEnv(piece string, env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if agentenv.Secret(name) && !(piece == "vault" && name == PassphraseEnv) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// runOnce starts the child and waits for it to exit or for ctx, in which
// case it stops the child's process group: SIGTERM, then SIGKILL after the
// grace period. The error says how the child ended.
func (s *Supervisor) runOnce(ctx context.Context, i int, p Piece) error {
	out, err := os.OpenFile(filepath.Join(s.LogDir, p.Name+".out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(pieceEnv(p.Name, os.Environ()), p.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: a supervisor killed with SIGKILL leaves no orphans behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	pid := cmd.Process.Pid
	s.update(i, func(_ *Status, ps *PieceStatus) {
		ps.State, ps.PID, ps.Started = StateRunning, pid, time.Now().UTC()
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(s.Policy.Grace):
			s.logf("%s: no exit %s after SIGTERM; killing", p.Name, s.Policy.Grace)
			syscall.Kill(-pid, syscall.SIGKILL)
			err = <-done
		}
		// Whatever the child left in its group goes with it.
		syscall.Kill(-pid, syscall.SIGKILL)
		return err
	}
	return exitError(err)
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("killed by signal %d (%s)", ws.Signal(), ws.Signal())
		}
		return fmt.Errorf("exited with status %d", ee.ExitCode())
	}
	if err == nil {
		return errors.New("exited with status 0")
	}
	return err
}

func (s *Supervisor) piece(i int) PieceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status.Pieces[i]
}

// Snapshot returns a copy of the current status.
func (s *Supervisor) Snapshot() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Pieces = append([]PieceStatus(nil), s.status.Pieces...)
	return st
}

// update changes piece i (or only the status, for i < 0) and writes the file.
func (s *Supervisor) update(i int, fn func(*Status, *PieceStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps *PieceStatus
	if i >= 0 {
		ps = &s.status.Pieces[i]
	}
	fn(&s.status, ps)
	s.writeLocked()
}

func (s *Supervisor) writeLocked() {
	if s.StatusFile == "" {
		return
	}
	b, err := json.MarshalIndent(s.status, "", "  ")
	if err != nil {
		return
	}
	if err := statedir.WriteFile(s.StatusFile, append(b, '\n'), 0o600); err != nil {
		s.logf("write %s: %v", s.StatusFile, err)
	}
}

// Alive reports whether a process with this pid exists.
func Alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

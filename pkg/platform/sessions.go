package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/agentenv"
	"github.com/ce-platform/ce/pkg/binpath"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/runner/identity"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
	"github.com/google/uuid"
)

// NewSession describes a session to create.
type NewSession struct {
	Name string
	// User owns it (sessions.max_per_user slots each); DefaultUser if "".
	User string
	// Dir is its working directory: the template's, else
	// sessions.default_dir, else Fallback.
	Dir      string
	Fallback string
	Model    string
	Template string
	// Data adds keys to the session.created event (by, job).
	Data map[string]any
	// NoRunner leaves the runner to start with the first run.
	NoRunner bool
}

// DirError means a session's directory cannot be used.
type DirError struct{ Dir string }

func (e *DirError) Error() string { return fmt.Sprintf("directory %s does not exist", e.Dir) }

// ExitCode makes a missing directory a usage error.
func (e *DirError) ExitCode() int { return 2 }

// Hint says how to go on.
func (e *DirError) Hint() string { return "create the directory first, or pass another with --dir" }

// BusyError means a session is in the middle of a prompt.
type BusyError struct{ Session, Item string }

func (e *BusyError) Error() string {
	if e.Item == "" {
		return fmt.Sprintf("session %s is busy", e.Session)
	}
	return fmt.Sprintf("session %s is busy with prompt %s", e.Session, e.Item)
}

// Hint says how to go on.
func (e *BusyError) Hint() string {
	return "wait until it is idle, or stop it with ce-session stop " + e.Session
}

// DefaultUser is the user of sessions created without one: the login name.
func DefaultUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "default"
}

// CreateSession stores a new session in the lowest free slot of its user
// and starts its runner in tmux; if the runner cannot start, the record is
// removed again. Errors: *session.NameError, template.ErrUnknown, *DirError,
// *session.ExistsError, *session.SlotError.
func (p *Platform) CreateSession(ctx context.Context, ns NewSession) (session.Record, error) {
	if err := session.ValidName(ns.Name); err != nil {
		return session.Record{}, err
	}
	var tmpl template.Template
	if ns.Template != "" {
		t, err := template.Lookup(p.Config, ns.Template)
		if err != nil {
			return session.Record{}, err
		}
		tmpl = t
	}
	dir, err := p.sessionDir(ns, tmpl)
	if err != nil {
		return session.Record{}, err
	}
	u := ns.User
	if u == "" {
		u = DefaultUser()
	}
	now := p.Now().UTC()
	rec, err := p.Sessions.Create(ctx, session.Record{
		Name: ns.Name, User: u, Status: session.Idle, Dir: dir, Model: ns.Model, Template: ns.Template,
		ClaudeSessionID: uuid.NewString(), Created: now, LastActive: now,
	}, p.Config.Sessions.MaxPerUser)
	if err != nil {
		return rec, err
	}
	if !ns.NoRunner {
		if err := p.StartRunner(ctx, rec); err != nil {
			p.Tmux.KillSession(ctx, rec.Name)
			p.Sessions.Delete(ctx, rec.Name)
			return rec, fmt.Errorf("cannot start session %s: %w", rec.Name, err)
		}
	}
	data := map[string]any{"user": rec.User, "slot": rec.Slot, "dir": rec.Dir}
	for k, v := range ns.Data {
		data[k] = v
	}
	p.Emit(eventlog.SessionCreated, rec.Name, "", data)
	return rec, nil
}

func (p *Platform) sessionDir(ns NewSession, tmpl template.Template) (string, error) {
	dir := ns.Dir
	for _, d := range []string{tmpl.Dir, p.Config.Sessions.DefaultDir, ns.Fallback} {
		if dir == "" {
			dir = d
		}
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = home
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", &DirError{Dir: dir}
	}
	return dir, nil
}

// RunnerArgv is the command line of a session's runner. It runs under
// env -i with the allowlisted environment: a tmux server started by an
// older ce, or by hand, may hold more, and what a process starts with
// stays readable in /proc/PID/environ.
func (p *Platform) RunnerArgv(name string) ([]string, error) {
	exe, err := binpath.Find(identity.Program)
	if err != nil {
		return nil, err
	}
	envExe, err := exec.LookPath("env")
	if err != nil {
		return nil, fmt.Errorf("env(1) not found on PATH: %w", err)
	}
	argv := append([]string{envExe, "-i"}, agentenv.Allowed(os.Environ(), p.Config.Agent.EnvPass)...)
	return append(argv, identity.Argv(exe, p.State.Root, p.ConfigPath, name)...), nil
}

// StartRunner starts the runner of a session in its tmux session, creating
// the tmux session if needed (or respawning its pane), and waits until it
// answers.
func (p *Platform) StartRunner(ctx context.Context, rec session.Record) error {
	sock, err := p.State.RunnerSocket(rec.Name)
	if err != nil {
		return err
	}
	argv, err := p.RunnerArgv(rec.Name)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(rec.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("the session's directory %s is missing", rec.Dir)
	}
	has, err := p.Tmux.HasSession(ctx, rec.Name)
	if err != nil {
		return err
	}
	if has {
		err = p.Tmux.Respawn(ctx, rec.Name, rec.Dir, argv)
	} else {
		err = p.Tmux.NewSession(ctx, rec.Name, rec.Dir, argv)
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
	return fmt.Errorf("the runner of session %s did not start within 10s: see ce-session attach %s", rec.Name, rec.Name)
}

// RunnerAlive reports whether the session's runner answers on its socket.
func (p *Platform) RunnerAlive(ctx context.Context, name string) bool {
	sock, err := p.State.RunnerSocket(name)
	if err != nil {
		return false
	}
	c, err := runner.Dial(ctx, sock)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// List returns the sessions of user (all when ""), each as Get returns
// it.
func (p *Platform) List(ctx context.Context, user string) ([]session.Record, error) {
	recs, err := p.Sessions.List(ctx, user)
	if err != nil || len(recs) == 0 {
		return recs, err
	}
	waiting, running, err := p.Queue.Activity(ctx)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func(r *session.Record) {
			defer wg.Done()
			p.live(ctx, r, waiting, running)
		}(&recs[i])
	}
	wg.Wait()
	return recs, nil
}

// Get returns one session with its count of waiting prompts and its live
// status: busy while a prompt runs (the run then in LastRun), dead when its
// runner does not answer.
func (p *Platform) Get(ctx context.Context, name string) (session.Record, error) {
	rec, err := p.Record(ctx, name)
	if err != nil {
		return rec, err
	}
	waiting, running, err := p.Queue.Activity(ctx)
	if err != nil {
		return rec, err
	}
	p.live(ctx, &rec, waiting, running)
	return rec, nil
}

func (p *Platform) live(ctx context.Context, r *session.Record, waiting map[string]int, running map[string]queue.Item) {
	r.Queued = waiting[r.Name]
	if it, ok := running[r.Name]; ok {
		r.Status, r.LastRun = session.Busy, it.Run
	}
	if !p.RunnerAlive(ctx, r.Name) {
		r.Status = session.Dead
	}
}

// CurrentRun is the run of the session's running prompt, else its last
// run ("" if none).
func (p *Platform) CurrentRun(ctx context.Context, name string) (string, error) {
	rec, err := p.Record(ctx, name)
	if err != nil {
		return "", err
	}
	items, err := p.Queue.List(ctx, queue.Filter{Session: name, State: queue.Running})
	if err != nil {
		return "", err
	}
	if len(items) > 0 {
		return items[0].Run, nil
	}
	return rec.LastRun, nil
}

// quitRunner asks a session's runner to exit (force: even mid-run).
func (p *Platform) quitRunner(ctx context.Context, name string, force bool) {
	if sock, err := p.State.RunnerSocket(name); err == nil {
		reason := ""
		if force {
			reason = "force"
		}
		runner.Call(ctx, sock, runner.Message{Op: "quit", Reason: reason})
	}
}

// StopRun asks a session's runner to stop a run; when the runner is gone
// it ends the run's process group itself. It reports whether a run was
// stopped.
func (p *Platform) StopRun(ctx context.Context, name, run, reason string) bool {
	rd := rundir.Of(p.State, name, run)
	os.WriteFile(rd.Path(rundir.StopFile), []byte(reason+"\n"), 0o600)
	if sock, err := p.State.RunnerSocket(name); err == nil {
		if m, err := runner.Call(ctx, sock, runner.Message{Op: "stop", Run: run, Reason: reason}); err == nil && m.OK {
			return true
		}
	}
	if pid := rd.PID(); pid > 0 && syscall.Kill(-pid, 0) == nil {
		killGroup(pid)
		return true
	}
	// Not handed to the runner yet: the runner ends it on receipt, seeing
	// the stop file.
	_, started := os.Stat(rd.Path(rundir.StartedFile))
	_, done, _ := rd.ReadExit()
	return os.IsNotExist(started) && !done && rd.Exists()
}

// killGroup ends a process group: SIGTERM, then SIGKILL if it is still
// there after a grace period.
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

// Stop interrupts the running prompt of a session; clear also cancels its
// queued and parked prompts. It returns whether a run was stopped and how
// many prompts were cancelled.
func (p *Platform) Stop(ctx context.Context, name string, clear bool) (bool, int, error) {
	if err := p.exists(ctx, name); err != nil {
		return false, 0, err
	}
	n := 0
	if clear {
		var err error
		if n, err = p.Queue.CancelSession(ctx, name); err != nil {
			return false, 0, err
		}
	}
	items, err := p.Queue.List(ctx, queue.Filter{Session: name, State: queue.Running})
	if err != nil {
		return false, n, err
	}
	stopped := false
	for _, it := range items {
		stopped = p.StopRun(ctx, name, it.Run, "stopped by the user") || stopped
	}
	p.Emit(eventlog.SessionStopped, name, "", map[string]any{"cleared": n})
	return stopped, n, nil
}

// Rename renames an idle session: its record, queue items, runs and tmux
// session; its runner is started again under the new name.
func (p *Platform) Rename(ctx context.Context, old, new string) (session.Record, error) {
	if err := session.ValidName(new); err != nil {
		return session.Record{}, err
	}
	if err := p.exists(ctx, old); err != nil {
		return session.Record{}, err
	}
	if _, err := p.Sessions.Get(ctx, new); err == nil {
		return session.Record{}, &session.ExistsError{Name: new}
	}
	if err := p.idle(ctx, old); err != nil {
		return session.Record{}, err
	}
	p.quitRunner(ctx, old, false)
	p.Tmux.KillSession(ctx, old)
	rec, err := p.Sessions.Rename(ctx, old, new)
	if err != nil {
		return rec, err
	}
	if err := p.Queue.RemoveSession(ctx, old, new); err != nil {
		return rec, err
	}
	if _, err := os.Stat(p.State.RunsDir(old)); err == nil {
		if err := os.Rename(p.State.RunsDir(old), p.State.RunsDir(new)); err != nil {
			return rec, err
		}
	}
	p.Emit(eventlog.SessionRenamed, new, "", map[string]any{"old": old})
	if err := p.StartRunner(ctx, rec); err != nil {
		p.Log.Warn().Err(err).Str("session", new).Msg("renamed, but the runner did not start; it starts with the next prompt")
	}
	return rec, nil
}

// idle returns a *BusyError when the session has a running prompt or a
// process drives it.
func (p *Platform) idle(ctx context.Context, name string) error {
	running, err := p.Queue.List(ctx, queue.Filter{Session: name, State: queue.Running})
	if err != nil {
		return err
	}
	if len(running) > 0 {
		return &BusyError{Session: name, Item: running[0].ID}
	}
	if p.Driving(name) {
		return &BusyError{Session: name}
	}
	return nil
}

// Removal says how Remove goes about a session.
type Removal struct {
	// Force stops a running prompt and cancels queued ones; without it a
	// busy session is refused with a *BusyError.
	Force bool
	// KeepItems leaves the session's queue items (they carry results).
	KeepItems bool
	// Data adds keys to the session.removed event (job, reason).
	Data map[string]any
}

// Remove ends a session: its runner and tmux session, its record, its run
// directories and (unless kept) its queue items.
func (p *Platform) Remove(ctx context.Context, name string, how Removal) error {
	if err := p.exists(ctx, name); err != nil {
		return err
	}
	if err := p.idle(ctx, name); err != nil {
		var busy *BusyError
		if !errors.As(err, &busy) || !how.Force {
			return err
		}
		p.Stop(ctx, name, true)
	}
	p.quitRunner(ctx, name, true)
	if err := p.Tmux.KillSession(ctx, name); err != nil {
		return err
	}
	if !how.KeepItems {
		if err := p.Queue.RemoveSession(ctx, name, ""); err != nil {
			return err
		}
	}
	if err := p.Sessions.Delete(ctx, name); err != nil && !errors.Is(err, session.ErrNotFound) {
		return err
	}
	if err := os.RemoveAll(p.State.RunsDir(name)); err != nil {
		return err
	}
	p.Emit(eventlog.SessionRemoved, name, "", how.Data)
	return nil
}

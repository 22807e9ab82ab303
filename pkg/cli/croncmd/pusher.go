package croncmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
	"github.com/google/uuid"
)

// driverPusher fires jobs into the queue of a state directory, creating
// and removing fresh sessions as ce-session new and rm do.
type driverPusher struct {
	d *dispatch.Driver
}

// Push queues the fire's prompt, creating its fresh session first.
func (p *driverPusher) Push(ctx context.Context, f cronjob.Fire) (string, error) {
	if f.New {
		if err := p.newSession(ctx, f); err != nil {
			return "", err
		}
	} else if _, err := p.d.Sessions.Get(ctx, f.Session); errors.Is(err, session.ErrNotFound) {
		return "", cronjob.Permanent(fmt.Errorf("no session %q", f.Session))
	} else if err != nil {
		return "", err
	}
	it, err := p.d.Queue.Push(ctx, f.Session, f.Prompt, f.Source())
	if err != nil {
		return "", err
	}
	p.d.Events.Append(eventlog.Event{Type: "prompt.queued", Session: f.Session, Item: it.ID, Data: map[string]any{"source": it.Source, "bytes": len(f.Prompt)}})
	p.d.NotifyQueue(ctx, f.Session, it.ID)
	return it.ID, nil
}

// newSession creates the fire's fresh session and starts its runner, as
// ce-session new does. A session of that name left by an earlier attempt
// of the same fire is used as it is.
func (p *driverPusher) newSession(ctx context.Context, f cronjob.Fire) error {
	cfg := p.d.Config
	var tmpl template.Template
	if f.Template != "" {
		t, err := template.Lookup(cfg, f.Template)
		if err != nil {
			return cronjob.Permanent(err)
		}
		tmpl = t
	}
	dir := tmpl.Dir
	if dir == "" {
		dir = cfg.Sessions.DefaultDir
	}
	if dir == "" {
		dir = f.Dir
	}
	if dir == "" {
		dir, _ = os.UserHomeDir()
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return cronjob.Permanent(fmt.Errorf("directory %s of the fresh session does not exist", dir))
	}
	u := f.User
	if u == "" {
		u = defaultUser()
	}
	now := time.Now().UTC()
	rec := session.Record{
		Name: f.Session, User: u, Status: session.Idle, Dir: dir, Template: f.Template,
		ClaudeSessionID: uuid.NewString(), Created: now, LastActive: now,
	}
	rec, err := p.d.Sessions.Create(ctx, rec, cfg.Sessions.MaxPerUser)
	var se *session.SlotError
	var ee *session.ExistsError
	switch {
	case errors.As(err, &ee):
		// Made by an earlier attempt of this fire, or someone else's
		// session that happens to have the name: never push into (and
		// then remove) the latter.
		old, gerr := p.d.Sessions.Get(ctx, f.Session)
		if gerr != nil {
			return gerr
		}
		if old.Created.Before(f.Written.Add(-time.Second)) {
			return cronjob.Permanent(fmt.Errorf("session %s exists already and was not made for this job", f.Session))
		}
		return nil
	case errors.As(err, &se):
		return cronjob.Permanent(fmt.Errorf("cannot create session %s: %v", f.Session, err))
	case err != nil:
		return err
	}
	if err := p.d.StartRunner(ctx, rec); err != nil {
		p.d.Tmux.KillSession(ctx, rec.Name)
		p.d.Sessions.Delete(ctx, rec.Name)
		return fmt.Errorf("cannot start session %s: %v", rec.Name, err)
	}
	p.d.Events.Append(eventlog.Event{Type: "session.created", Session: rec.Name, Data: map[string]any{"user": rec.User, "slot": rec.Slot, "dir": rec.Dir, "job": f.Job}})
	return nil
}

// Find looks for the item the fire queued, by its source.
func (p *driverPusher) Find(ctx context.Context, f cronjob.Fire) (string, error) {
	items, err := p.d.Queue.List(ctx, queue.Filter{Session: f.Session})
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if it.Source == f.Source() {
			return it.ID, nil
		}
	}
	return "", nil
}

// States reads the states of items in one pass over the queue.
func (p *driverPusher) States(ctx context.Context, ids []string) (map[string]string, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	items, err := p.d.Queue.List(ctx, queue.Filter{})
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, it := range items {
		if want[it.ID] {
			m[it.ID] = it.State
		}
	}
	return m, nil
}

// RemoveSession removes a fresh session whose run is over: its runner,
// tmux session, record and run directories. Its queue items stay (they
// carry the result) until they expire.
func (p *driverPusher) RemoveSession(ctx context.Context, name string) error {
	if sock, err := p.d.State.RunnerSocket(name); err == nil {
		runner.Call(ctx, sock, runner.Message{Op: "quit", Reason: "force"})
	}
	if err := p.d.Tmux.KillSession(ctx, name); err != nil {
		return err
	}
	if err := p.d.Sessions.Delete(ctx, name); err != nil && !errors.Is(err, session.ErrNotFound) {
		return err
	}
	return os.RemoveAll(p.d.State.RunsDir(name))
}

func defaultUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "default"
}

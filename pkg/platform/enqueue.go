package platform

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/runner/identity"
	"github.com/ce-platform/ce/pkg/session"
)

// NoSessionError means a prompt or an operation named a session that does
// not exist.
type NoSessionError struct{ Name string }

func (e *NoSessionError) Error() string { return fmt.Sprintf("no session %q", e.Name) }

// Hint says how to find or make one.
func (e *NoSessionError) Hint() string {
	return "ce-session ls lists sessions; ce-session new " + e.Name + " creates it"
}

// Prompt is a prompt to queue.
type Prompt struct {
	Session string
	Text    string
	// Source says who queued it: "cli", "cron:<job>:<fire>", "heartbeat",
	// "session:<name>", "telegram:<user>", ...; it is kept on the item.
	Source string
	// Data adds keys to the prompt.queued event (ask, job, retry_of).
	Data map[string]any
}

// Enqueue is the one way a prompt enters the queue: it checks the prompt
// and that the session exists, pushes the item, records prompt.queued and
// wakes the worker.
func (p *Platform) Enqueue(ctx context.Context, pr Prompt) (queue.Item, error) {
	if err := queue.CheckPrompt(pr.Text); err != nil {
		return queue.Item{}, err
	}
	if err := p.exists(ctx, pr.Session); err != nil {
		return queue.Item{}, err
	}
	it, err := p.Queue.Push(ctx, pr.Session, pr.Text, pr.Source)
	if err != nil {
		return it, err
	}
	p.queued(ctx, it, pr.Data)
	return it, nil
}

// ForeignError refuses a prompt that a session's process sends to another
// session: sessions talk to each other with session_ask, which keeps its
// rules against cycles.
type ForeignError struct{ From, To string }

func (e *ForeignError) Error() string {
	return fmt.Sprintf("refused: this process runs inside session %s and may not queue prompts for session %s", e.From, e.To)
}

// Hint says how sessions talk to each other.
func (e *ForeignError) Hint() string {
	return "a session asks another with the session_ask tool (ce_sessions)"
}

// CheckSender refuses, with a *ForeignError, a command run inside one
// session that would queue a prompt for another (the front ends for
// people call it; tools have their own rules).
func (p *Platform) CheckSender(ctx context.Context, target string) error {
	if from, ok := identity.SessionOf(os.Getpid()); ok && from != target {
		return &ForeignError{From: from, To: target}
	}
	return nil
}

// Retry queues again the prompt of a failed or cancelled item, as a new
// item that names the old one.
func (p *Platform) Retry(ctx context.Context, id string) (queue.Item, error) {
	old, err := p.Queue.Get(ctx, id)
	if err != nil {
		return old, err
	}
	if err := p.exists(ctx, old.Session); err != nil {
		return queue.Item{}, err
	}
	it, err := p.Queue.Retry(ctx, id)
	if err != nil {
		return it, err
	}
	p.queued(ctx, it, map[string]any{"retry_of": id})
	return it, nil
}

// Cancel cancels a queued or parked item.
func (p *Platform) Cancel(ctx context.Context, id string) (queue.Item, error) {
	it, err := p.Queue.Cancel(ctx, id)
	if err != nil {
		return it, err
	}
	p.Emit(eventlog.PromptCancelled, it.Session, it.ID, nil)
	return it, nil
}

func (p *Platform) queued(ctx context.Context, it queue.Item, extra map[string]any) {
	data := map[string]any{"source": it.Source, "bytes": len(it.Prompt)}
	for k, v := range extra {
		data[k] = v
	}
	p.Emit(eventlog.PromptQueued, it.Session, it.ID, data)
	p.Wake(ctx, it.Session, it.ID)
}

func (p *Platform) exists(ctx context.Context, name string) error {
	_, err := p.Record(ctx, name)
	return err
}

// Record returns a session's stored record; a bad name is a
// *session.NameError, an unknown one a *NoSessionError.
func (p *Platform) Record(ctx context.Context, name string) (session.Record, error) {
	if err := session.ValidName(name); err != nil {
		return session.Record{}, err
	}
	rec, err := p.Sessions.Get(ctx, name)
	if errors.Is(err, session.ErrNotFound) {
		return rec, &NoSessionError{Name: name}
	}
	return rec, err
}

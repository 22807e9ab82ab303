package cronjob

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
)

// PlatformPusher fires jobs into the queue of a state directory, creating
// and removing fresh sessions through the platform, as ce-session new and
// rm do.
type PlatformPusher struct {
	P *platform.Platform
}

// Push queues the fire's prompt, creating its fresh session first.
func (p PlatformPusher) Push(ctx context.Context, f Fire) (string, error) {
	if f.New {
		if err := p.newSession(ctx, f); err != nil {
			return "", err
		}
	}
	it, err := p.P.Enqueue(ctx, platform.Prompt{Session: f.Session, Text: f.Prompt, Source: f.Source(), Data: map[string]any{"job": f.Job}})
	var nse *platform.NoSessionError
	var pe *queue.PromptError
	if errors.As(err, &nse) || errors.As(err, &pe) {
		return "", Permanent(err)
	}
	return it.ID, err
}

// newSession creates the fire's fresh session and starts its runner. A
// session of that name left by an earlier attempt of the same fire is used
// as it is.
func (p PlatformPusher) newSession(ctx context.Context, f Fire) error {
	_, err := p.P.CreateSession(ctx, platform.NewSession{
		Name: f.Session, User: f.User, Template: f.Template, Fallback: f.Dir, Data: map[string]any{"job": f.Job},
	})
	var ee *session.ExistsError
	var se *session.SlotError
	var de *platform.DirError
	switch {
	case errors.As(err, &ee):
		// Made by an earlier attempt of this fire, or someone else's
		// session that happens to have the name: never push into (and
		// then remove) the latter.
		old, gerr := p.P.Sessions.Get(ctx, f.Session)
		if gerr != nil {
			return gerr
		}
		if old.Created.Before(f.Written.Add(-time.Second)) {
			return Permanent(fmt.Errorf("session %s exists already and was not made for this job", f.Session))
		}
		return nil
	case errors.Is(err, template.ErrUnknown):
		return Permanent(err)
	case errors.As(err, &de):
		return Permanent(fmt.Errorf("directory %s of the fresh session does not exist", de.Dir))
	case errors.As(err, &se):
		return Permanent(fmt.Errorf("cannot create session %s: %v", f.Session, err))
	}
	return err
}

// Find looks for the item the fire queued, by its source.
func (p PlatformPusher) Find(ctx context.Context, f Fire) (string, error) {
	items, err := p.P.Queue.List(ctx, queue.Filter{Session: f.Session})
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

// States reads the states of items.
func (p PlatformPusher) States(ctx context.Context, ids []string) (map[string]string, error) {
	return p.P.Queue.States(ctx, ids)
}

// RemoveSession removes a fresh session whose run is over: its runner,
// tmux session, record and run directories. Its queue items stay (they
// carry the result) until they expire.
func (p PlatformPusher) RemoveSession(ctx context.Context, c Cleanup) error {
	err := p.P.Remove(ctx, c.Session, platform.Removal{Force: true, KeepItems: true, Data: map[string]any{"job": c.Job, "reason": "cron run over"}})
	var nse *platform.NoSessionError
	if errors.As(err, &nse) {
		return nil
	}
	return err
}

// Package tools gives the cron extension's tools (package ext/cron) their
// handlers. The jobs are those of ce-cron, in <state>/cron.db (package
// cronjob); a session's jobs have the source "session:<name>", and jobs
// from the config or a shell cannot be deleted from a session. Firing is
// ce-cron's (tick or serve); a created job wakes ce-cron serve through the
// broker. Only ce-mcp imports this package, through ext/builtin/handlers.
package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	extcron "github.com/ce-platform/ce/pkg/ext/cron"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
)

// Event types in the event log.
const (
	EventCreated = eventlog.CronCreated
	EventDeleted = eventlog.CronDeleted
)

func init() { ext.RegisterHandlers(extcron.Name, Fill) }

// Fill sets the handlers of the cron extension's tools.
func Fill(e *ext.Extension) {
	handlers := map[string]func(context.Context, ext.Call) ext.Result{
		extcron.ToolCreate: create,
		extcron.ToolList:   list,
		extcron.ToolDelete: remove,
	}
	for i := range e.Tools {
		if h, ok := handlers[e.Tools[i].Name]; ok {
			e.Tools[i].Handler = h
		}
	}
}

func boolArg(c ext.Call, name string) bool {
	b, _ := c.Args[name].(bool)
	return b
}

func create(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("cron_create")
	if !ok {
		return res
	}
	name, err := c.RequireString("name")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	prompt, err := c.RequireString("prompt")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	spec := cronjob.Spec{
		Name: name, Cron: c.String("schedule"), In: c.String("in"), At: c.String("at"), TZ: c.String("tz"),
		Prompt: prompt, Missed: c.String("missed"), Source: cronjob.SessionPrefix + me, CreatedBy: cronjob.SessionPrefix + me,
		Target: cronjob.Target{Session: c.String("session"), New: boolArg(c, "new"), Template: c.String("template"), Keep: boolArg(c, "keep")},
	}
	if spec.Session == "" && !spec.New {
		spec.Session = me
	}
	st := c.Env.State
	if spec.New {
		if c.Env.Config != nil && spec.Template != "" {
			if _, err := template.Lookup(c.Env.Config, spec.Template); err != nil {
				return ext.Errorf("%v", err)
			}
		}
		if rec, err := session.Open(st).Get(ctx, me); err == nil {
			spec.Dir, spec.User = rec.Dir, rec.User
		}
	} else if spec.Session != me {
		if err := session.ValidName(spec.Session); err != nil {
			return ext.Errorf("%v", err)
		}
		if _, err := session.Open(st).Get(ctx, spec.Session); errors.Is(err, session.ErrNotFound) {
			return ext.Errorf("no session %q: name an existing session, leave session out for your own, or set new: true for a fresh session per run", spec.Session)
		} else if err != nil {
			return ext.Errorf("cannot read the sessions: %v", err)
		}
	}
	if c.Env.Config != nil {
		if _, ok := c.Env.Config.Cron.Jobs[name]; ok {
			return ext.Errorf("job %q is defined in the ce configuration; pick another name", name)
		}
	}
	now := time.Now()
	j, err := spec.Job(now)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	var ee *cronjob.ExistsError
	if err := cronjob.Open(st).Add(ctx, j); errors.As(err, &ee) {
		return ext.Errorf("%v: pick another name (cron_list lists the jobs)", err)
	} else if err != nil {
		return ext.Errorf("the job was not created: %v", err)
	}
	asknotify.EventLog(c.Env).Append(eventlog.Event{Type: EventCreated, Session: me, Data: map[string]any{"job": j.Name, "schedule": j.Schedule(), "target": j.Target.String()}})
	publish(ctx, c.Env, j.Name)
	target := "session " + j.Session
	if j.New {
		target = "a fresh session per run"
	}
	when := "once, at"
	if !j.OneShot() {
		when = "on schedule " + j.Schedule() + "; first at"
	}
	return ext.Result{Text: fmt.Sprintf("Created job %s: it fires %s %s (%s from now) and sends the prompt to %s.",
		j.Name, when, j.Next.In(zone(j)).Format(time.RFC3339), cronjob.Age(j.Next.Sub(now)), target)}
}

func zone(j cronjob.Job) *time.Location {
	loc, err := j.Location()
	if err != nil {
		return time.UTC
	}
	return loc
}

// jobView is a job as cron_list shows it.
type jobView struct {
	Name      string          `json:"name"`
	Schedule  string          `json:"schedule"`
	Target    string          `json:"target"`
	Prompt    string          `json:"prompt"`
	Next      string          `json:"next,omitempty"`
	Paused    bool            `json:"paused,omitempty"`
	Source    string          `json:"source"`
	Deletable bool            `json:"deletable"`
	Runs      int             `json:"runs"`
	LastRun   string          `json:"last_run,omitempty"`
	Last      *cronjob.Result `json:"last_result,omitempty"`
}

func list(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("cron_list")
	if !ok {
		return res
	}
	s := cronjob.Open(c.Env.State)
	var sn cronjob.Snapshot
	var err error
	if c.Env.Config != nil {
		sn, _, err = s.List(ctx, &c.Env.Config.Cron, time.Now())
	} else {
		sn, _, err = s.List(ctx, nil, time.Now())
	}
	if err != nil {
		return ext.Errorf("cannot read the jobs: %v", err)
	}
	out := []jobView{}
	for _, j := range sn.Jobs {
		v := jobView{Name: j.Name, Schedule: j.Schedule(), Target: j.Target.String(), Prompt: j.Prompt, Paused: j.Paused,
			Source: j.Source, Deletable: j.Source == cronjob.SessionPrefix+me, Runs: j.Runs, Last: j.Last}
		if !j.Next.IsZero() {
			v.Next = j.Next.In(zone(j)).Format(time.RFC3339)
		}
		if !j.LastRun.IsZero() {
			v.LastRun = j.LastRun.In(zone(j)).Format(time.RFC3339)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return ext.Result{Text: "No jobs are scheduled."}
	}
	return ext.JSON(out)
}

var errNotYours = errors.New("not created by this session")

func remove(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("cron_delete")
	if !ok {
		return res
	}
	name, err := c.RequireString("name")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	mine := cronjob.SessionPrefix + me
	owner := ""
	_, err = cronjob.Open(c.Env.State).Remove(ctx, name, func(j cronjob.Job) error {
		if j.Source != mine {
			owner = j.Source
			return errNotYours
		}
		return nil
	})
	switch {
	case errors.Is(err, cronjob.ErrNotFound):
		return ext.Errorf("no job %q (cron_list lists the jobs)", name)
	case errors.Is(err, errNotYours) && owner == cronjob.SourceConfig:
		return ext.Errorf("refused: job %q comes from the ce configuration; only the user can change it there", name)
	case errors.Is(err, errNotYours):
		return ext.Errorf("refused: job %q was created by %s; a session may delete only the jobs it created", name, owner)
	case err != nil:
		return ext.Errorf("the job was not deleted: %v", err)
	}
	asknotify.EventLog(c.Env).Append(eventlog.Event{Type: EventDeleted, Session: me, Data: map[string]any{"job": name}})
	publish(ctx, c.Env, name)
	return ext.Result{Text: fmt.Sprintf("Deleted job %s.", name)}
}

// publish wakes ce-cron serve; it also watches cron.db.
func publish(ctx context.Context, env ext.Env, job string) {
	if env.BridgeSocket == "" {
		return
	}
	bc := bridge.Dial(env.BridgeSocket)
	defer bc.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	bc.Publish(ctx, cronjob.TopicChanged, map[string]string{"job": job})
}

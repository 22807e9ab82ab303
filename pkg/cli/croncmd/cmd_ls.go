package croncmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/queue"
)

// jobView is a job as ls --json prints it.
type jobView struct {
	Name      string          `json:"name"`
	Cron      string          `json:"cron,omitempty"`
	At        time.Time       `json:"at,omitzero"`
	TZ        string          `json:"tz"`
	Prompt    string          `json:"prompt"`
	Session   string          `json:"session,omitempty"`
	New       bool            `json:"new,omitempty"`
	Template  string          `json:"template,omitempty"`
	Keep      bool            `json:"keep,omitempty"`
	Missed    string          `json:"missed"`
	Source    string          `json:"source"`
	CreatedBy string          `json:"created_by,omitempty"`
	Created   time.Time       `json:"created"`
	Paused    bool            `json:"paused"`
	Next      time.Time       `json:"next,omitzero"`
	Runs      int             `json:"runs"`
	LastRun   time.Time       `json:"last_run,omitzero"`
	Last      *cronjob.Result `json:"last_result,omitempty"`
	Firing    int             `json:"firing,omitempty"`
}

func view(j cronjob.Job, firing int) jobView {
	tz := j.TZ
	if tz == "" {
		tz = "local"
	}
	v := jobView{
		Name: j.Name, Cron: j.Cron, At: j.At, TZ: tz, Prompt: j.Prompt, Session: j.Session, New: j.New,
		Template: j.Template, Keep: j.Keep, Missed: j.Missed, Source: j.Source, CreatedBy: j.CreatedBy,
		Created: j.Created, Paused: j.Paused, Next: j.Next, Runs: j.Runs, LastRun: j.LastRun, Last: j.Last, Firing: firing,
	}
	if j.New {
		v.Session = ""
	}
	return v
}

// LsCmd lists the jobs.
type LsCmd struct {
	JSON bool `name:"json" help:"Print one JSON object per job."`
}

// Run prints the jobs, with the live state of each one's last item.
func (c *LsCmd) Run(env *clikit.Env) error {
	sn, err := snapshot(env)
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	liveStates(env, queue.Open(st), sn.Jobs)
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, j := range sn.Jobs {
			if err := enc.Encode(view(j, len(sn.PendingFor(j.Name)))); err != nil {
				return err
			}
		}
		return nil
	}
	if len(sn.Jobs) == 0 {
		env.Infof("no jobs")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCHEDULE\tTARGET\tNEXT\tLAST RUN\tLAST RESULT\tSOURCE")
	for _, j := range sn.Jobs {
		next := when(j.Next, now)
		switch {
		case j.Paused:
			next = "paused"
		case j.Done:
			next = "done"
		case !j.Next.IsZero() && !j.Next.After(now):
			next += " (due)"
		}
		result := "-"
		if j.Last != nil {
			result = j.Last.Item + " " + j.Last.State
			if j.Last.State == cronjob.StateError {
				result = "error: " + short(j.Last.Error, 40)
			}
		}
		if n := len(sn.PendingFor(j.Name)); n > 0 {
			result = "firing"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Schedule(), j.Target, next, when(j.LastRun, now), strings.TrimSpace(result), j.Source)
	}
	return tw.Flush()
}

// snapshot reads the jobs, the config jobs brought in step first.
func snapshot(env *clikit.Env) (cronjob.Snapshot, error) {
	cfg, err := env.Config()
	if err != nil {
		return cronjob.Snapshot{}, err
	}
	s, _, err := jobs(env)
	if err != nil {
		return cronjob.Snapshot{}, err
	}
	sn, warnings, err := s.List(env.Ctx, &cfg.Cron, time.Now())
	for _, w := range warnings {
		env.Warnf("%s", w)
	}
	return sn, err
}

// liveStates replaces the recorded state of each job's last item with the
// item's state now, when it may have moved on.
func liveStates(env *clikit.Env, q *queue.Queue, jobs []cronjob.Job) {
	need := false
	for _, j := range jobs {
		need = need || (j.Last != nil && j.Last.Item != "" && j.Last.State != queue.Done && j.Last.State != queue.Failed && j.Last.State != queue.Cancelled)
	}
	if !need {
		return
	}
	var ids []string
	for _, j := range jobs {
		if j.Last != nil && j.Last.Item != "" {
			ids = append(ids, j.Last.Item)
		}
	}
	state, err := q.States(env.Ctx, ids)
	if err != nil {
		env.Warnf("cannot read the queue: %v", err)
		return
	}
	for i := range jobs {
		if l := jobs[i].Last; l != nil && l.Item != "" {
			if s, ok := state[l.Item]; ok {
				cp := *l
				cp.State = s
				jobs[i].Last = &cp
			}
		}
	}
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

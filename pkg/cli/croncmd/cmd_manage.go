package croncmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
)

// errConfigJob refuses to remove a job that the config defines.
var errConfigJob = errors.New("job comes from the config")

// RmCmd removes jobs.
type RmCmd struct {
	Names []string `arg:"" name:"name" help:"The jobs' names."`
}

// Run removes each job; fires already under way still complete. It goes
// on after a job it cannot remove, and then fails.
func (c *RmCmd) Run(env *clikit.Env) error {
	if _, err := snapshot(env); err != nil {
		return err
	}
	s, st, err := jobs(env)
	if err != nil {
		return err
	}
	cfgPath := env.ConfigPath()
	if cfgPath == "" {
		cfgPath = "the config"
	}
	var first error
	for _, name := range c.Names {
		_, err := s.Remove(env.Ctx, name, func(j cronjob.Job) error {
			if j.Source == cronjob.SourceConfig {
				return errConfigJob
			}
			return nil
		})
		switch {
		case errors.Is(err, errConfigJob):
			err = clikit.Fail("remove it from cron.jobs in "+cfgPath+"; ce-cron pause "+name+" stops it meanwhile", "job %q comes from the config and cannot be removed here", name)
		case err != nil:
			err = jobErr(name, err)
		default:
			fmt.Fprintf(env.Stdout, "removed job %s\n", name)
			continue
		}
		if first == nil {
			first = err
		} else {
			fmt.Fprintf(env.Stderr, "%s: error: %v\n", env.Name, err)
		}
	}
	notify(env.Ctx, st, "")
	return first
}

// PauseCmd pauses jobs.
type PauseCmd struct {
	Names []string `arg:"" name:"name" help:"The jobs' names."`
}

// Run pauses each job.
func (c *PauseCmd) Run(env *clikit.Env) error { return setPaused(env, c.Names, true) }

// ResumeCmd resumes jobs.
type ResumeCmd struct {
	Names []string `arg:"" name:"name" help:"The jobs' names."`
}

// Run resumes each job.
func (c *ResumeCmd) Run(env *clikit.Env) error { return setPaused(env, c.Names, false) }

func setPaused(env *clikit.Env, names []string, paused bool) error {
	if _, err := snapshot(env); err != nil {
		return err
	}
	s, st, err := jobs(env)
	if err != nil {
		return err
	}
	now := time.Now()
	var first error
	for _, name := range names {
		j, err := s.SetPaused(env.Ctx, name, paused, now)
		if err != nil {
			if first == nil {
				first = jobErr(name, err)
			} else {
				fmt.Fprintf(env.Stderr, "%s: error: %v\n", env.Name, jobErr(name, err))
			}
			continue
		}
		switch {
		case paused:
			fmt.Fprintf(env.Stdout, "paused job %s\n", name)
		case j.Next.IsZero():
			fmt.Fprintf(env.Stdout, "resumed job %s: it has no due time left\n", name)
		default:
			fmt.Fprintf(env.Stdout, "resumed job %s: fires %s (%s)\n", name, j.Next.Local().Format("2006-01-02 15:04:05 MST"), in(j.Next, now))
		}
	}
	notify(env.Ctx, st, "")
	return first
}

// FireCmd fires a job now.
type FireCmd struct {
	Name string `arg:"" help:"The job's name."`
}

// Run pushes the job's prompt into the queue now and prints the item's ID.
// The schedule is unchanged; a one-shot job is used up.
func (c *FireCmd) Run(env *clikit.Env) error {
	if _, err := snapshot(env); err != nil {
		return err
	}
	s, p, err := scheduler(env)
	if err != nil {
		return err
	}
	f, err := s.FireNow(env.Ctx, c.Name)
	events(p.d.Events, cronjob.Report{Fired: nonEmpty(f)})
	if err != nil {
		if errors.Is(err, cronjob.ErrNotFound) {
			return jobErr(c.Name, err)
		}
		return clikit.Fail("ce-cron ls shows the job's target; ce-session ls the sessions", "job %s did not fire: %v", c.Name, err)
	}
	notify(env.Ctx, p.d.State, c.Name)
	fmt.Fprintf(env.Stdout, "fired job %s: %s in session %s\n", c.Name, f.Item, f.Session)
	return nil
}

func nonEmpty(f cronjob.Fired) []cronjob.Fired {
	if f.Fire == "" {
		return nil
	}
	return []cronjob.Fired{f}
}

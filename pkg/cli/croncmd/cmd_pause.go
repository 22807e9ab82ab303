package croncmd

import (
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// PauseCmd pauses jobs.
type PauseCmd struct {
	Names []string `arg:"" name:"name" help:"The jobs' names."`
}

// Run pauses each job.
func (c *PauseCmd) Run(env *clikit.Env) error { return setPaused(env, c.Names, true) }

func setPaused(env *clikit.Env, names []string, paused bool) error {
	if _, err := snapshot(env); err != nil {
		return err
	}
	s, st, err := jobs(env)
	if err != nil {
		return err
	}
	now := time.Now()
	failed := env.Failures()
	for _, name := range names {
		j, err := s.SetPaused(env.Ctx, name, paused, now)
		if err != nil {
			failed.Add(jobErr(name, err))
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
	return failed.Err()
}

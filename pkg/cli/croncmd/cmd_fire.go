package croncmd

import (
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
)

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
	s, st, err := scheduler(env)
	if err != nil {
		return err
	}
	f, err := s.FireNow(env.Ctx, c.Name)
	if err != nil {
		if errors.Is(err, cronjob.ErrNotFound) {
			return jobErr(c.Name, err)
		}
		return clikit.Fail("ce-cron ls shows the job's target; ce-session ls the sessions", "job %s did not fire: %v", c.Name, err)
	}
	notify(env.Ctx, st, c.Name)
	fmt.Fprintf(env.Stdout, "fired job %s: %s in session %s\n", c.Name, f.Item, f.Session)
	return nil
}

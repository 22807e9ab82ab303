package croncmd

import (
	"errors"
	"fmt"

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
	failed := env.Failures()
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
		failed.Add(err)
	}
	notify(env.Ctx, st, "")
	return failed.Err()
}

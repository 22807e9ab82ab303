package croncmd

import (
	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// ResumeCmd resumes jobs.
type ResumeCmd struct {
	Names []string `arg:"" name:"name" help:"The jobs' names."`
}

// Run resumes each job.
func (c *ResumeCmd) Run(env *clikit.Env) error { return setPaused(env, c.Names, false) }

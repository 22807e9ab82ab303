package memorycmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// RmCmd deletes notes.
type RmCmd struct {
	IDs []string `arg:"" name:"id" help:"The notes' IDs."`
}

// Run deletes each note's file and drops it from the index. It goes on
// after a note that does not exist, and then fails.
func (c *RmCmd) Run(env *clikit.Env, s *memory.Store) error {
	defer s.Close()
	var first error
	for _, id := range c.IDs {
		if err := s.Remove(env.Ctx, id); err != nil {
			err = noteErr(id, err)
			if first == nil {
				first = err
			} else {
				env.Errorf("%v", err)
			}
			continue
		}
		fmt.Fprintf(env.Stdout, "removed note %s\n", id)
	}
	return first
}

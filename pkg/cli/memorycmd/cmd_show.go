package memorycmd

import (
	"encoding/json"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// ShowCmd prints a note.
type ShowCmd struct {
	ID   string `arg:"" name:"id" help:"The note's ID (as ls and search print it)."`
	JSON bool   `name:"json" help:"Print the note as one JSON object, its body included."`
}

// Run prints the note's file as it is, or as JSON.
func (c *ShowCmd) Run(env *clikit.Env, s *memory.Store) error {
	defer s.Close()
	if c.JSON {
		n, err := s.Get(env.Ctx, c.ID)
		if err != nil {
			return noteErr(c.ID, err)
		}
		if n.Problem != "" {
			env.Warnf("%s: %s", n.Path, n.Problem)
		}
		return json.NewEncoder(env.Stdout).Encode(n)
	}
	data, _, err := s.Raw(c.ID)
	if err != nil {
		return noteErr(c.ID, err)
	}
	_, err = env.Stdout.Write(data)
	return err
}

package memorycmd

import (
	"encoding/json"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// ReindexCmd rebuilds the index.
type ReindexCmd struct {
	JSON bool `name:"json" help:"Print what was done as one JSON object."`
}

// Help is the long help of reindex.
func (c *ReindexCmd) Help() string {
	return "Every command keeps the index up to date by itself; reindex reads every note file again, for " +
		"peace of mind or after the index was damaged, and lists the notes that could not be read whole."
}

// Run rebuilds the index.
func (c *ReindexCmd) Run(env *clikit.Env, s *memory.Store) error {
	defer s.Close()
	r, err := s.Reindex(env.Ctx)
	if err != nil {
		return indexErr(err)
	}
	for _, n := range r.Problems {
		env.Warnf("%s: %s", n.Path, n.Problem)
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(r)
	}
	env.Infof("indexed %s from %s in %s", plural(r.Notes, "note", "notes"), s.Dir(), r.Took.Round(time.Millisecond))
	return nil
}

package memorycmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/memory"
)

// LsCmd lists the notes.
type LsCmd struct {
	Tag  string `help:"Only notes with this tag."`
	JSON bool   `name:"json" help:"Print one JSON object per note."`
}

// Run prints the notes, most recently updated first.
func (c *LsCmd) Run(env *clikit.Env, s *memory.Store) error {
	defer s.Close()
	notes, err := s.List(env.Ctx, c.Tag)
	warnNoticed(env, s)
	if err != nil {
		return indexErr(err)
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, n := range notes {
			if err := enc.Encode(n); err != nil {
				return err
			}
		}
		return nil
	}
	if len(notes) == 0 {
		if c.Tag != "" {
			env.Infof("no note has tag %q", c.Tag)
		} else {
			env.Infof("no notes; add one with ce-memory add")
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUPDATED\tTAGS\tTITLE")
	problems := 0
	for _, n := range notes {
		title := n.Title
		if n.Problem != "" {
			title += " (!)"
			problems++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.ID, date(n), tagList(n.Tags), title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if problems > 0 {
		env.Warnf("%s marked (!) could not be read whole; ce-memory reindex says why", plural(problems, "note", "notes"))
	}
	return nil
}

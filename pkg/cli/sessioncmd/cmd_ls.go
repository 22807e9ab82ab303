package sessioncmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/text"
)

// LsCmd lists sessions.
type LsCmd struct {
	User string `help:"Only the sessions of this user."`
	JSON bool   `name:"json" help:"Print one JSON object per session."`
}

// Run prints the sessions.
func (c *LsCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	recs, err := d.List(env.Ctx, c.User)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(recs) == 0 {
		env.Infof("no sessions; create one with ce-session new NAME")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUSER\tSLOT\tSTATUS\tQUEUED\tPROMPTS\tCOST\tACTIVE\tDIR")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t$%.4f\t%s\t%s\n", r.Name, text.Safe(r.User), r.Slot, r.Status, r.Queued, r.Prompts, r.CostUSD, ago(r.LastActive), text.Safe(r.Dir))
	}
	return tw.Flush()
}

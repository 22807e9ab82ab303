package sessioncmd

import (
	"fmt"
	"strconv"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/session"
)

// LsCmd lists sessions.
type LsCmd struct {
	User string `help:"Only the sessions of this user."`
	JSON bool   `name:"json" help:"Print one JSON object per session."`
}

// Run prints the sessions.
func (c *LsCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	recs, err := d.List(env.Ctx, c.User)
	if err != nil {
		return err
	}
	return clikit.Listing[session.Record]{JSON: c.JSON, Empty: "no sessions; create one with ce-session new NAME",
		Header: []string{"NAME", "USER", "SLOT", "STATUS", "QUEUED", "PROMPTS", "COST", "ACTIVE", "DIR"},
		Row: func(r session.Record) []string {
			return []string{r.Name, r.User, strconv.Itoa(r.Slot), r.Status, strconv.Itoa(r.Queued), strconv.Itoa(r.Prompts),
				fmt.Sprintf("$%.4f", r.CostUSD), ago(r.LastActive), r.Dir}
		}}.Print(env, recs)
}

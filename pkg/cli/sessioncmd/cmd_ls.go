package sessioncmd

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
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
	recs, err := listWithState(env.Ctx, d, c.User)
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
		fmt.Fprintln(env.Stderr, "no sessions; create one with ce-session new NAME")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUSER\tSLOT\tSTATUS\tQUEUED\tPROMPTS\tCOST\tACTIVE\tDIR")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t$%.4f\t%s\t%s\n", r.Name, r.User, r.Slot, r.Status, r.Queued, r.Prompts, r.CostUSD, ago(r.LastActive), r.Dir)
	}
	return tw.Flush()
}

// listWithState reads the sessions with their queued counts and marks dead
// those whose runner does not answer.
func listWithState(ctx context.Context, d *dispatch.Driver, user string) ([]session.Record, error) {
	recs, err := d.Sessions.List(ctx, user)
	if err != nil || len(recs) == 0 {
		return recs, err
	}
	counts, err := d.Queue.Counts(ctx)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for i := range recs {
		recs[i].Queued = counts[recs[i].Name]
		wg.Add(1)
		go func(r *session.Record) {
			defer wg.Done()
			if !alive(ctx, d, r.Name) {
				r.Status = session.Dead
			}
		}(&recs[i])
	}
	wg.Wait()
	return recs, nil
}

// alive reports whether the session's runner answers on its socket.
func alive(ctx context.Context, d *dispatch.Driver, name string) bool {
	sock, err := d.State.RunnerSocket(name)
	if err != nil {
		return false
	}
	c, err := runner.Dial(ctx, sock)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

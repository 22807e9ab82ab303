package queuecmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/text"
)

// LsCmd lists items.
type LsCmd struct {
	Session string `help:"Only items of this session."`
	State   string `help:"Only items in this state: ${enum}." enum:",queued,running,done,failed,cancelled,parked" default:""`
	JSON    bool   `name:"json" help:"Print one JSON object per item."`
}

// Run prints the items.
func (c *LsCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	items, err := d.Queue.List(env.Ctx, queue.Filter{Session: c.Session, State: c.State})
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		env.Infof("the queue is empty")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSESSION\tSTATE\tTRIES\tCREATED\tNOTE\tPROMPT")
	for _, it := range items {
		note := ""
		switch {
		case it.State == queue.Parked:
			note = "resumes " + it.ParkedUntil.Local().Format("01-02 15:04")
		case it.State == queue.Done:
			note = fmt.Sprintf("$%.4f %.1fs", it.CostUSD, float64(it.DurationMS)/1000)
		case it.Error != "":
			note = text.Safe(text.Line(it.Error, 40))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Session, it.State, it.Attempts,
			it.Created.Local().Format("01-02 15:04:05"), note, text.Safe(text.Line(it.Prompt, 50)))
	}
	return tw.Flush()
}

package heartbeatcmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// LogCmd lists recent beats.
type LogCmd struct {
	Count int  `short:"n" default:"20" help:"How many beats, newest last (the log keeps 200)."`
	JSON  bool `name:"json" help:"Print one JSON object per beat (NDJSON)."`
}

// Run prints the beats.
func (c *LogCmd) Run(env *clikit.Env) error {
	if c.Count < 1 {
		return clikit.Usage("pass a positive number", "-n must be at least 1, got %d", c.Count)
	}
	e, err := open(env)
	if err != nil {
		return err
	}
	if _, err := e.Reconcile(env.Ctx); err != nil {
		return err
	}
	beats, err := e.Beats(env.Ctx, min(c.Count, heartbeat.LogKeep))
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, b := range beats {
			if err := enc.Encode(b); err != nil {
				return err
			}
		}
		return nil
	}
	if len(beats) == 0 {
		env.Infof("no beats yet")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTIER\tOUTCOME\tCOST\tITEM\tREASON")
	for _, b := range beats {
		item := "-"
		if b.Item != "" {
			item = b.Item
			if b.ItemState != "" {
				item += " " + b.ItemState
			}
		}
		outcome := b.Outcome
		if b.Valve != "" {
			outcome += " (" + b.Valve + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t$%.4f\t%s\t%s\n", b.Time.Local().Format("2006-01-02 15:04:05"), b.Tier, outcome,
			b.CostUSD+b.ActionCostUSD, item, b.Reason)
	}
	return tw.Flush()
}

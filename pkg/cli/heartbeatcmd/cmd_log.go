package heartbeatcmd

import (
	"fmt"

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
	return clikit.Listing[heartbeat.Beat]{JSON: c.JSON, Empty: "no beats yet", Header: []string{"TIME", "TIER", "OUTCOME", "COST", "ITEM", "REASON"},
		Row: beatRow}.Print(env, beats)
}

// beatRow is a beat in the table.
func beatRow(b heartbeat.Beat) []string {
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
	return []string{b.Time.Local().Format("2006-01-02 15:04:05"), b.Tier, outcome,
		fmt.Sprintf("$%.4f", b.CostUSD+b.ActionCostUSD), item, b.Reason}
}

package sessioncmd

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
)

// UsageCmd shows usage figures.
type UsageCmd struct {
	JSON bool `name:"json" help:"Print one JSON object."`
}

type usageRow struct {
	Session    string         `json:"session"`
	Prompts    int            `json:"prompts"`
	CostUSD    float64        `json:"cost_usd"`
	Tokens     session.Tokens `json:"tokens"`
	DurationMS int64          `json:"duration_ms"`
}

type usageReport struct {
	Sessions   []usageRow          `json:"sessions"`
	Total      usageRow            `json:"total"`
	RateLimits []session.RateLimit `json:"rate_limits"`
	Parked     []queue.Item        `json:"parked"`
}

// Run prints per-session and total usage, the rate-limit state and parked
// prompts.
func (c *UsageCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	recs, err := d.Sessions.List(env.Ctx, "")
	if err != nil {
		return err
	}
	rep := usageReport{Total: usageRow{Session: "total"}, Sessions: []usageRow{}}
	for _, r := range recs {
		row := usageRow{Session: r.Name, Prompts: r.Prompts, CostUSD: r.CostUSD, Tokens: r.Tokens, DurationMS: r.DurationMS}
		rep.Sessions = append(rep.Sessions, row)
		rep.Total.Prompts += r.Prompts
		rep.Total.CostUSD += r.CostUSD
		rep.Total.Tokens.Add(r.Tokens)
		rep.Total.DurationMS += r.DurationMS
	}
	if rep.RateLimits, err = d.Sessions.RateLimits(env.Ctx); err != nil {
		return err
	}
	if rep.Parked, err = d.Queue.List(env.Ctx, queue.Filter{State: queue.Parked, Live: true}); err != nil {
		return err
	}
	for i := range rep.Parked {
		rep.Parked[i].Prompt = ""
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(rep)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tPROMPTS\tCOST\tINPUT\tOUTPUT\tCACHE-READ\tCACHE-WRITE\tTIME")
	rows := append(rep.Sessions, rep.Total)
	sort.SliceStable(rows[:len(rows)-1], func(i, j int) bool { return rows[i].Session < rows[j].Session })
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t$%.4f\t%d\t%d\t%d\t%d\t%s\n", r.Session, r.Prompts, r.CostUSD, r.Tokens.Input, r.Tokens.Output,
			r.Tokens.CacheRead, r.Tokens.CacheCreation, (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Millisecond))
	}
	tw.Flush()
	for _, rl := range rep.RateLimits {
		line := fmt.Sprintf("rate limit (%s): %s", rl.Account, rl.Status)
		if rl.Type != "" {
			line += ", " + rl.Type
		}
		if rl.Utilization != nil {
			line += fmt.Sprintf(", %.0f%% used", *rl.Utilization*100)
		}
		if !rl.ResetsAt.IsZero() {
			line += ", resets " + rl.ResetsAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(env.Stdout, "%s (seen %s)\n", line, ago(rl.Seen))
	}
	for _, it := range rep.Parked {
		fmt.Fprintf(env.Stdout, "parked: %s (%s) until %s\n", it.ID, it.Session, it.ParkedUntil.Local().Format("2006-01-02 15:04"))
	}
	return nil
}

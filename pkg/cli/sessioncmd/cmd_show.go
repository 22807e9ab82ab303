package sessioncmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/text"
)

// ShowCmd shows one session.
type ShowCmd struct {
	Name string `arg:"" help:"Session name."`
	JSON bool   `name:"json" help:"Print the record as JSON."`
}

// Run prints the session.
func (c *ShowCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	r, err := d.Get(env.Ctx, c.Name)
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(r)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("name", r.Name)
	row("user", r.User)
	row("slot", r.Slot)
	row("status", r.Status)
	row("dir", r.Dir)
	if r.Model != "" {
		row("model", r.Model)
	}
	row("claude session", r.ClaudeSessionID)
	row("prompts", r.Prompts)
	row("queued", r.Queued)
	row("cost", fmt.Sprintf("$%.4f", r.CostUSD))
	row("tokens", fmt.Sprintf("in %d, out %d, cache read %d, cache write %d", r.Tokens.Input, r.Tokens.Output, r.Tokens.CacheRead, r.Tokens.CacheCreation))
	row("time", (time.Duration(r.DurationMS) * time.Millisecond).String())
	if r.LastError != "" {
		row("last error", text.Safe(r.LastError))
	}
	if r.LastRun != "" {
		row("last run", r.LastRun)
	}
	row("created", r.Created.Local().Format(time.RFC3339))
	row("last active", r.LastActive.Local().Format(time.RFC3339))
	return tw.Flush()
}

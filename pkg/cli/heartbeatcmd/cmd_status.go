package heartbeatcmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// StatusCmd shows the heartbeat.
type StatusCmd struct {
	JSON bool `name:"json" help:"Print one JSON object: state, next_beat, valves, today, session, instructions, last_beat and more."`
}

// Run prints the status.
func (c *StatusCmd) Run(env *clikit.Env, e *heartbeat.Engine) error {
	s, err := e.Status(env.Ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(s)
	}
	now := s.Now
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	state := s.State
	if s.Waiting != "" && s.State == "active" {
		state += ", waiting for " + s.Waiting
	}
	fmt.Fprintf(tw, "state:\t%s\n", state)
	stretch := ""
	if s.Stretch > 1 {
		stretch = fmt.Sprintf(" x%d after %d no-op beats", s.Stretch, s.NoopBeats)
	}
	fmt.Fprintf(tw, "next beat:\t%s, every %s%s\n", when(s.NextBeat, now), s.Interval, stretch)
	if t := s.Trigger; t != nil {
		force := ""
		if t.Force {
			force = ", forced"
		}
		fmt.Fprintf(tw, "trigger:\t%s%s from %s at %s\n", t.Urgency, force, orDash(t.Source), t.At.Local().Format("15:04:05"))
	}
	serve := "not running (ce-heartbeat serve, or ce-heartbeat tick from cron)"
	if s.Serving {
		serve = "running"
	}
	fmt.Fprintf(tw, "serve:\t%s\n", serve)
	sess := s.Session.Name
	switch {
	case !s.Session.Exists:
		sess += " (created at the first action)"
	case s.Session.Busy != "":
		sess += " (busy: " + s.Session.Busy + ")"
	default:
		sess += " (idle)"
	}
	fmt.Fprintf(tw, "session:\t%s\n", sess)
	in := s.Instructions
	desc := in.State
	if in.State == "ok" || in.State == "empty" {
		desc = fmt.Sprintf("%s, %d lines", in.State, in.Lines)
	}
	fmt.Fprintf(tw, "instructions:\t%s (%s)\n", in.Path, desc)
	fmt.Fprintf(tw, "gates:\t%d\n", len(s.Gates))
	t := s.Today
	actions := fmt.Sprintf("%d actions", t.Actions)
	if t.ActionCap > 0 {
		actions = fmt.Sprintf("%d of %d actions", t.Actions, t.ActionCap)
	}
	cost := fmt.Sprintf("$%.4f", t.CostUSD)
	if t.CostCapUSD > 0 {
		cost += fmt.Sprintf(" of $%.2f", t.CostCapUSD)
	}
	fmt.Fprintf(tw, "today:\t%s, %s (%d decisions, $%.4f)\n", actions, cost, t.Decisions, t.DecisionCostUSD)
	if b := s.LastBeat; b != nil {
		fmt.Fprintf(tw, "last beat:\t%s %s %s: %s\n", b.Time.Local().Format("2006-01-02 15:04:05"), b.Tier, b.Outcome, b.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "valves:")
	tw = tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	for _, v := range s.Valves {
		open := "open"
		if !v.Open {
			open = "CLOSED"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, open, v.Detail)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

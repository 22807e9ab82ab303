package sessioncmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
)

// StopCmd interrupts the running prompt.
type StopCmd struct {
	Name  string `arg:"" help:"Session name."`
	Clear bool   `help:"Also cancel the session's queued prompts."`
}

// Run stops the run; its partial output stays in the run directory.
func (c *StopCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	if _, err := get(env.Ctx, d, c.Name); err != nil {
		return err
	}
	stopped, n, err := d.Stop(env.Ctx, c.Name, c.Clear)
	if err != nil {
		return err
	}
	switch {
	case stopped:
		fmt.Fprintf(env.Stdout, "stopped the running prompt of %s\n", c.Name)
	default:
		fmt.Fprintf(env.Stdout, "%s had no running prompt\n", c.Name)
	}
	if c.Clear {
		fmt.Fprintf(env.Stdout, "cancelled %d queued prompts\n", n)
	}
	d.Events.Append(eventlog.Event{Type: "session.stopped", Session: c.Name, Data: map[string]any{"cleared": n}})
	return nil
}

// RmCmd removes a session.
type RmCmd struct {
	Name  string `arg:"" help:"Session name."`
	Force bool   `help:"Remove a busy session too, stopping its run."`
}

// Run stops the session's tmux session and removes its records and runs.
func (c *RmCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	if _, err := get(env.Ctx, d, c.Name); err != nil {
		return err
	}
	running, err := d.Queue.List(env.Ctx, queue.Filter{Session: c.Name, State: queue.Running})
	if err != nil {
		return err
	}
	if len(running) > 0 && !c.Force {
		return clikit.Fail("wait for it, stop it with ce-session stop "+c.Name+", or pass --force", "session %s is busy with prompt %s", c.Name, running[0].ID)
	}
	if len(running) > 0 {
		d.Stop(env.Ctx, c.Name, true)
	}
	quitRunner(env, c.Name, true)
	if err := d.Tmux.KillSession(env.Ctx, c.Name); err != nil {
		return err
	}
	if err := d.Queue.RemoveSession(env.Ctx, c.Name, ""); err != nil {
		return err
	}
	if err := d.Sessions.Delete(env.Ctx, c.Name); err != nil && !errors.Is(err, session.ErrNotFound) {
		return err
	}
	os.RemoveAll(d.State.RunsDir(c.Name))
	d.Events.Append(eventlog.Event{Type: "session.removed", Session: c.Name})
	fmt.Fprintf(env.Stdout, "removed session %s\n", c.Name)
	return nil
}

func quitRunner(env *clikit.Env, name string, force bool) {
	st, err := env.State()
	if err != nil {
		return
	}
	if sock, err := st.RunnerSocket(name); err == nil {
		reason := ""
		if force {
			reason = "force"
		}
		runner.Call(env.Ctx, sock, runner.Message{Op: "quit", Reason: reason})
	}
}

// RenameCmd renames a session.
type RenameCmd struct {
	Old string `arg:"" help:"Current name."`
	New string `arg:"" help:"New name."`
}

// Run renames an idle session: its records, runs and tmux session.
func (c *RenameCmd) Run(env *clikit.Env) error {
	if err := session.ValidName(c.New); err != nil {
		return clikit.Usage("session names use letters, digits, '-' and '_'", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	rec, err := get(env.Ctx, d, c.Old)
	if err != nil {
		return err
	}
	if _, err := d.Sessions.Get(env.Ctx, c.New); err == nil {
		return clikit.Fail("pick another name", "session %q already exists", c.New)
	}
	running, err := d.Queue.List(env.Ctx, queue.Filter{Session: c.Old, State: queue.Running})
	if err != nil {
		return err
	}
	if len(running) > 0 || d.Driving(c.Old) {
		return clikit.Fail("wait until it is idle, or stop it with ce-session stop "+c.Old, "session %s is busy", c.Old)
	}
	quitRunner(env, c.Old, false)
	d.Tmux.KillSession(env.Ctx, c.Old)
	if rec, err = d.Sessions.Rename(env.Ctx, c.Old, c.New); err != nil {
		return err
	}
	if err := d.Queue.RemoveSession(env.Ctx, c.Old, c.New); err != nil {
		return err
	}
	if _, err := os.Stat(d.State.RunsDir(c.Old)); err == nil {
		if err := os.Rename(d.State.RunsDir(c.Old), d.State.RunsDir(c.New)); err != nil {
			return err
		}
	}
	if err := d.StartRunner(env.Ctx, rec); err != nil {
		env.Warnf("renamed, but the runner did not start: %v (it starts with the next prompt)", err)
	}
	d.Events.Append(eventlog.Event{Type: "session.renamed", Session: c.New, Data: map[string]any{"old": c.Old}})
	fmt.Fprintf(env.Stdout, "renamed session %s to %s\n", c.Old, c.New)
	return nil
}

// AttachCmd attaches a terminal to the session's tmux session.
type AttachCmd struct {
	Name string `arg:"" help:"Session name."`
}

// Run execs tmux attach; detach with the tmux prefix key and d.
func (c *AttachCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	rec, err := get(env.Ctx, d, c.Name)
	if err != nil {
		return err
	}
	if !clikit.IsTerminal(env.Stdin) {
		return clikit.Usage("run it from a terminal", "attach needs a terminal")
	}
	if !alive(env.Ctx, d, c.Name) {
		if err := d.StartRunner(env.Ctx, rec); err != nil {
			return err
		}
	}
	cmd := d.Tmux.AttachCommand(c.Name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

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
func (c *UsageCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
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
	if rep.Parked, err = d.Queue.List(env.Ctx, queue.Filter{State: queue.Parked}); err != nil {
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

package sessioncmd

import (
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/streamjson"
)

// TailCmd prints the events of the latest run.
type TailCmd struct {
	Name   string `arg:"" help:"Session name."`
	Follow bool   `short:"f" help:"Follow the run as it is written, and the runs after it, until interrupted."`
	JSON   bool   `name:"json" help:"Print the events as claude emitted them, one JSON object per line."`
}

// Run prints the latest run, and with -f keeps following new runs.
func (c *TailCmd) Run(env *clikit.Env) error {
	d, err := open(env)
	if err != nil {
		return err
	}
	rec, err := get(env.Ctx, d, c.Name)
	if err != nil {
		return err
	}
	show := func(l []byte) error {
		if c.JSON {
			_, err := env.Stdout.Write(append(l, '\n'))
			return err
		}
		ev, err := streamjson.Parse(l)
		if err != nil {
			return nil
		}
		switch ev.Type {
		case "assistant":
			for _, b := range ev.AssistantBlocks() {
				switch b.Type {
				case "text":
					fmt.Fprintln(env.Stdout, b.Text)
				case "tool_use":
					fmt.Fprintln(env.Stdout, streamjson.ToolLine(b))
				}
			}
		case "result":
			if r, ok := ev.Result(); ok {
				state := "done"
				if r.IsError {
					state = "error"
				}
				fmt.Fprintf(env.Stdout, "── %s: %d turns, %.1fs, $%.4f\n", state, r.NumTurns, float64(r.DurationMS)/1000, r.CostUSD)
			}
		}
		return nil
	}
	if rec.LastRun == "" && !c.Follow {
		fmt.Fprintf(env.Stderr, "session %s has no runs yet\n", c.Name)
		return nil
	}
	if !c.Follow {
		lines, err := rundir.Of(d.State, c.Name, rec.LastRun).ReadStream()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := show(l); err != nil {
				return err
			}
		}
		return nil
	}
	w, err := d.WatchFile("sessions.db")
	if err != nil {
		return err
	}
	defer w.Close()
	run := rec.LastRun
	for {
		if run != "" {
			if !c.JSON {
				fmt.Fprintf(env.Stdout, "── run %s\n", run)
			}
			if _, err := d.FollowRun(env.Ctx, c.Name, run, show); err != nil {
				return err
			}
		}
		for {
			select {
			case <-env.Ctx.Done():
				return nil
			case <-w.C:
			}
			rec, err = get(env.Ctx, d, c.Name)
			if err != nil {
				return err
			}
			if rec.LastRun != run {
				run = rec.LastRun
				break
			}
		}
	}
}

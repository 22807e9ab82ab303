package sessioncmd

import (
	"io"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/render"
	"github.com/ce-platform/ce/pkg/rundir"
)

// TailCmd prints the events of the latest run.
type TailCmd struct {
	Name   string `arg:"" help:"Session name."`
	Follow bool   `short:"f" help:"Follow the run as it is written, and the runs after it, until interrupted."`
	JSON   bool   `name:"json" help:"Print the events as claude emitted them, one JSON object per line."`
}

// Run prints the latest run, and with -f keeps following new runs.
func (c *TailCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	run, err := d.CurrentRun(env.Ctx, c.Name)
	if err != nil {
		return err
	}
	people := &render.Printer{Text: env.Stdout, Tools: env.Stdout, Footer: env.Stdout}
	show := people.Line
	if c.JSON {
		show = func(l []byte) error {
			_, err := env.Stdout.Write(append(l, '\n'))
			return err
		}
	}
	if !c.Follow {
		if run == "" {
			env.Infof("session %s has no runs yet", c.Name)
			return nil
		}
		lines, err := rundir.Of(d.State, c.Name, run).ReadStream()
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
	// The watch is set before the run is looked up again, so a run that
	// starts in between is not missed.
	w, err := d.State.Watch(queue.DBFile, "sessions.db")
	if err != nil {
		return err
	}
	defer w.Close()
	followed := ""
	for {
		if run != followed {
			followed = run
			if !c.JSON {
				io.WriteString(env.Stdout, "── run "+run+"\n")
			}
			if _, err := d.FollowRun(env.Ctx, c.Name, run, show); err != nil {
				return err
			}
		} else {
			select {
			case <-env.Ctx.Done():
				return env.Ctx.Err()
			case <-w.C:
			}
		}
		if run, err = d.CurrentRun(env.Ctx, c.Name); err != nil {
			return err
		}
	}
}

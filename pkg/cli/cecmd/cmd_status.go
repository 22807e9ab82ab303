package cecmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/supervisor"
)

// StatusCmd shows the supervised pieces.
type StatusCmd struct {
	JSON bool `name:"json" help:"Print one JSON object."`
}

// Help is the long help of ce status.
func (c *StatusCmd) Help() string {
	return "Reads supervisor.json in the state directory (no broker needed) and checks each piece: its pid is alive, " +
		"and the broker answers bridge.health. Exit status 1 when ce up is not running or a piece is not healthy."
}

// Run prints the status.
func (c *StatusCmd) Run(env *clikit.Env) error {
	st, err := env.State()
	if err != nil {
		return err
	}
	s, err := supervisor.ReadStatus(supervisor.StatusFile(st))
	if errors.Is(err, fs.ErrNotExist) {
		s, err = &supervisor.Status{State: supervisor.StateStopped}, nil
	}
	if err != nil {
		return err
	}
	r := check(env.Ctx, st, s)
	if c.JSON {
		if r.Pieces == nil {
			r.Pieces = []pieceReport{}
		}
		json.NewEncoder(env.Stdout).Encode(r)
	} else {
		if r.Running {
			fmt.Fprintf(env.Stdout, "ce up: running (pid %d, up %s)\n", r.PID, time.Since(r.Started).Truncate(time.Second))
		} else {
			fmt.Fprintln(env.Stdout, "ce up: not running")
		}
		if len(r.Pieces) > 0 {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PIECE\tPID\tUPTIME\tRESTARTS\tHEALTH\tLAST ERROR")
			for _, p := range r.Pieces {
				health, pid, uptime := "healthy", "-", "-"
				if !p.Healthy {
					health = p.State
				}
				if p.PID > 0 {
					pid = fmt.Sprint(p.PID)
				}
				if p.Healthy {
					uptime = (time.Duration(p.Uptime) * time.Second).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.Name, pid, uptime, p.Restarts, health, p.LastError)
			}
			tw.Flush()
		}
	}
	if !r.healthy() {
		if !c.JSON && !r.Running {
			env.Hintf("ce up starts the platform")
		}
		return clikit.Silent{Code: clikit.ExitFailure}
	}
	return nil
}

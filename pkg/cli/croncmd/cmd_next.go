package croncmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// NextCmd shows the coming fires.
type NextCmd struct {
	Count int  `short:"n" help:"How many fires to show." default:"10"`
	JSON  bool `name:"json" help:"Print one JSON object per fire."`
}

// Run prints the next fires, soonest first; nothing is fired or changed.
func (c *NextCmd) Run(env *clikit.Env) error {
	if c.Count < 1 {
		return clikit.Usage("", "--count must be at least 1, got %d", c.Count)
	}
	sn, err := snapshot(env)
	if err != nil {
		return err
	}
	now := time.Now()
	up := sn.Upcoming(now, c.Count)
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, u := range up {
			if err := enc.Encode(u); err != nil {
				return err
			}
		}
		return nil
	}
	if len(up) == 0 {
		env.Infof("nothing is scheduled")
		return nil
	}
	target := map[string]string{}
	for _, j := range sn.Jobs {
		target[j.Name] = j.Target.String()
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tIN\tJOB\tTARGET")
	for _, u := range up {
		rel := in(u.Time, now)
		if !u.Time.After(now) {
			rel = "due now"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Time.Local().Format("2006-01-02 15:04:05 MST"), rel, u.Job, target[u.Job])
	}
	return tw.Flush()
}

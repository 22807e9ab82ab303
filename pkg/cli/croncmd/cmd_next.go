package croncmd

import (
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
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
	target := map[string]string{}
	for _, j := range sn.Jobs {
		target[j.Name] = j.Target.String()
	}
	return clikit.Listing[cronjob.Upcoming]{JSON: c.JSON, Empty: "nothing is scheduled", Header: []string{"TIME", "IN", "JOB", "TARGET"},
		Row: func(u cronjob.Upcoming) []string {
			rel := in(u.Time, now)
			if !u.Time.After(now) {
				rel = "due now"
			}
			return []string{u.Time.Local().Format("2006-01-02 15:04:05 MST"), rel, u.Job, target[u.Job]}
		}}.Print(env, up)
}

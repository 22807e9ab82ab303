package croncmd

import (
	"context"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/daemon"
)

// ServeCmd runs the scheduler.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Ticks, then sleeps until the next due time; it wakes early when jobs change (cron.changed on the broker, " +
		"or a change of cron.db when no broker runs), and, while fresh sessions wait for their run to end, when the " +
		"queue changes. One scheduler serves a state directory; ce-cron tick is safe alongside it. SIGHUP re-reads " +
		"the config (cron.jobs, cron.grace); SIGINT or SIGTERM stops it after the round in progress. Logs go to " +
		"logs/cron.log."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	s, st, err := scheduler(env)
	if err != nil {
		return err
	}
	cfg, _ := env.Config()
	spec := daemon.Spec{Name: "cron", What: "a scheduler", Lock: cronjob.ServeLock, Beside: "ce-cron tick is safe alongside it"}
	in := daemon.Input{State: st, Config: cfg, ConfigFlag: env.Globals.Config, Stderr: env.Stderr}
	return daemon.Run(env.Ctx, spec, in, func(ctx context.Context, dm *daemon.Daemon) error {
		return s.Serve(ctx, st, dm.Bridge, dm.Reload, dm.Log)
	})
}

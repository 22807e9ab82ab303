package heartbeatcmd

import (
	"context"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// ServeCmd runs the daemon.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Sleeps until the next beat is due and beats, without polling: it wakes when heartbeat.db changes (a " +
		"trigger, pause or resume from any process), on the broker's heartbeat.trigger topic, and while an action is " +
		"open or the session busy, when queue.db changes. It provides heartbeat.trigger and heartbeat.status on the " +
		"broker when one runs. SIGHUP re-reads the configuration; SIGINT or SIGTERM stop it (a decision in flight is " +
		"killed and the beat is run again later). Logs go to logs/heartbeat.log. One serve per state directory."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env, e *heartbeat.Engine) error {
	spec := daemon.Spec{Name: "heartbeat", What: "ce-heartbeat serve", Lock: heartbeat.ServeLock,
		Beside: "ce-heartbeat trigger and tick work beside it"}
	in := daemon.Input{State: e.State, Config: e.Config(), ConfigFlag: env.Globals.Config, Stderr: env.Stderr}
	return daemon.Run(env.Ctx, spec, in, func(ctx context.Context, dm *daemon.Daemon) error {
		e.Log = dm.Log
		return e.Serve(ctx, dm.Bridge, dm.Reload)
	})
}

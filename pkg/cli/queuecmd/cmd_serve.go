package queuecmd

import (
	"context"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/platform"
)

// ServeCmd runs the worker.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Runs prompts as they are queued, up to queue.max_parallel sessions at once, until SIGINT or SIGTERM " +
		"(runs in flight go on in tmux and the next worker picks them up). SIGHUP re-reads the configuration: a " +
		"valid one restarts the serving loop with it, an invalid one is refused and logged. Logs go to " +
		"logs/queue.log. One worker serves a state directory; ce-queue tick is safe beside it."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	cfg, st, err := env.Setup()
	if err != nil {
		return err
	}
	spec := daemon.Spec{Name: "queue", What: "a queue worker", Lock: platform.WorkerLock,
		Beside: "ce-queue tick is safe alongside it", Restart: true}
	in := daemon.Input{State: st, Config: cfg, ConfigFlag: env.Globals.Config, Stderr: env.Stderr}
	return daemon.Run(env.Ctx, spec, in, func(ctx context.Context, dm *daemon.Daemon) error {
		d := dispatch.New(st, dm.Config, dm.Config.Source(), dm.Log)
		return d.Serve(ctx, dm.Bridge)
	})
}

// Package queuecmd is the ce-queue command: the durable prompt queue, the
// worker that runs it (serve, tick) and the hidden runner that lives in
// each session's tmux session. cmd/ce-queue is a one-line main around Main.
package queuecmd

import (
	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// CLI is the command line of ce-queue.
type CLI struct {
	Ls     LsCmd     `cmd:"" help:"List queue items."`
	Push   PushCmd   `cmd:"" help:"Queue a prompt for a session (like ce-session send --detach)."`
	Cancel CancelCmd `cmd:"" help:"Cancel a queued or parked item."`
	Retry  RetryCmd  `cmd:"" help:"Queue a failed or cancelled item again."`
	Serve  ServeCmd  `cmd:"" help:"Run the queue worker until interrupted."`
	Tick   TickCmd   `cmd:"" help:"Do one round of the worker's work and exit (for system cron or timers)."`
	Runner RunnerCmd `cmd:"" hidden:"" help:"The runner inside a session's tmux session (started by ce)."`

	clikit.Base
}

// App is ce-queue's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name:        "ce-queue",
		Description: "the durable prompt queue and its worker\n\nItems move queued -> running -> done, failed or cancelled; runs happen in each session's tmux session and survive the death of any ce process.",
		CLI:         &CLI{},
		Options:     []kong.Option{kong.BindSingletonProvider(open)},
	}
}

// Main runs ce-queue and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// open returns the run driver of the environment's state directory.
func open(env *clikit.Env) (*dispatch.Driver, error) {
	cfg, st, err := env.Setup()
	if err != nil {
		return nil, err
	}
	d := dispatch.New(st, cfg, env.ConfigPath(), env.Logger())
	d.OnCorrupt(env.Corrupted)
	return d, nil
}

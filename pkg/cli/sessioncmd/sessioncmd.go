// Package sessioncmd is the ce-session command: named Claude sessions, each
// a tmux session on ce's own tmux server with a runner that owns its claude
// process. cmd/ce-session is a one-line main around Main; the operations
// themselves are package platform's and dispatch's.
package sessioncmd

import (
	"fmt"
	"time"

	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
)

// CLI is the command line of ce-session.
type CLI struct {
	New     NewCmd     `cmd:"" help:"Create a session."`
	Ls      LsCmd      `cmd:"" help:"List sessions."`
	Show    ShowCmd    `cmd:"" help:"Show one session."`
	Send    SendCmd    `cmd:"" help:"Send a prompt to a session and print the result."`
	Tail    TailCmd    `cmd:"" help:"Print the events of a session's latest run."`
	Stop    StopCmd    `cmd:"" help:"Interrupt the running prompt of a session."`
	Rm      RmCmd      `cmd:"" help:"Remove a session."`
	Rename  RenameCmd  `cmd:"" help:"Rename a session."`
	Attach  AttachCmd  `cmd:"" help:"Attach a terminal to a session's tmux session, to watch it."`
	Usage   UsageCmd   `cmd:"" help:"Show prompts, cost, tokens and time per session, and the rate-limit state."`
	Pending PendingCmd `cmd:"" help:"List open questions from sessions (ask_user, session_ask)."`
	Answer  AnswerCmd  `cmd:"" help:"Answer an open question."`

	clikit.Base
}

// App is ce-session's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name:        "ce-session",
		Description: "manage named Claude sessions and send them prompts\n\nCreate sessions, send prompts, follow and stop runs. Each session is a tmux session on ce's own tmux server; its conversation continues across prompts.",
		CLI:         &CLI{},
		Options:     []kong.Option{kong.BindSingletonProvider(open)},
	}
}

// Main runs ce-session and returns its exit status.
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

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02")
}

// Package sessioncmd is the ce-session command: named Claude sessions, each
// a tmux session on ce's own tmux server with a runner that owns its claude
// process. cmd/ce-session is a one-line main around Main.
package sessioncmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/clidoc"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/session"
)

// CLI is the command line of ce-session.
type CLI struct {
	clikit.Globals

	New        NewCmd        `cmd:"" help:"Create a session."`
	Ls         LsCmd         `cmd:"" help:"List sessions."`
	Show       ShowCmd       `cmd:"" help:"Show one session."`
	Send       SendCmd       `cmd:"" help:"Send a prompt to a session and print the result."`
	Tail       TailCmd       `cmd:"" help:"Print the events of a session's latest run."`
	Stop       StopCmd       `cmd:"" help:"Interrupt the running prompt of a session."`
	Rm         RmCmd         `cmd:"" help:"Remove a session."`
	Rename     RenameCmd     `cmd:"" help:"Rename a session."`
	Attach     AttachCmd     `cmd:"" help:"Attach a terminal to a session's tmux session, to watch it."`
	Usage      UsageCmd      `cmd:"" help:"Show prompts, cost, tokens and time per session, and the rate-limit state."`
	Pending    PendingCmd    `cmd:"" help:"List open questions from sessions (ask_user, session_ask)."`
	Answer     AnswerCmd     `cmd:"" help:"Answer an open question."`
	Completion CompletionCmd `cmd:"" help:"Print the shell completion script."`
}

// GlobalFlags gives clikit the global flags.
func (c *CLI) GlobalFlags() *clikit.Globals { return &c.Globals }

// CompletionCmd prints a completion script.
type CompletionCmd struct{ clidoc.CompletionCmd }

// App is ce-session's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name:        "ce-session",
		Description: "manage named Claude sessions and send them prompts\n\nCreate sessions, send prompts, follow and stop runs. Each session is a tmux session on ce's own tmux server; its conversation continues across prompts.",
		CLI:         &CLI{},
	}
}

// Main runs ce-session and returns its exit status.
func Main(args []string) int { return App().Main(args) }

func open(env *clikit.Env) (*dispatch.Driver, error) { return env.Driver() }

// get returns a session or an error that says how to find one.
func get(ctx context.Context, d *dispatch.Driver, name string) (session.Record, error) {
	if err := session.ValidName(name); err != nil {
		return session.Record{}, clikit.Usage("session names use letters, digits, '-' and '_'", "%v", err)
	}
	rec, err := d.Sessions.Get(ctx, name)
	if errors.Is(err, session.ErrNotFound) {
		return rec, clikit.Fail("ce-session ls lists sessions; ce-session new "+name+" creates it", "no session %q", name)
	}
	return rec, err
}

func defaultUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "default"
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

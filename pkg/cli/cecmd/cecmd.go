// Package cecmd is the ce command, the platform's front door: up, down,
// status and logs (around pkg/supervisor), version, doctor, and git-style
// dispatch ("ce session ls" runs "ce-session ls").
// cmd/ce is a one-line main around Main.
package cecmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/ce-platform/ce/pkg/binpath"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// CLI is the command line of ce.
type CLI struct {
	Up      UpCmd      `cmd:"" help:"Start the platform: the broker, then the enabled daemons, restarted when they die."`
	Down    DownCmd    `cmd:"" help:"Stop the platform started by ce up."`
	Reload  ReloadCmd  `cmd:"" help:"Make ce up re-read its configuration (SIGHUP)."`
	Help    HelpCmd    `cmd:"" help:"Show this usage and the ce-X commands and extensions found."`
	Status  StatusCmd  `cmd:"" help:"Show each piece of the platform: pid, uptime, restarts, health, last error."`
	Logs    LogsCmd    `cmd:"" help:"Print a piece's log; -f follows it."`
	Version VersionCmd `cmd:"" help:"Print the version of ce."`
	Doctor  DoctorCmd  `cmd:"" help:"Check the installation and print a remedy for each problem."`

	clikit.Base
}

// App is ce's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce",
		Description: "the front door of the ce agent platform\n\nce turns the Claude Code CLI into an always-on, multi-session agent platform. " +
			"\"ce X ARGS\" runs \"ce-X ARGS\" from PATH, so \"ce session ls\" is \"ce-session ls\".",
		CLI: &CLI{},
	}
}

// Main runs ce and returns its exit status.
func Main(args []string) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !builtin(args[0]) {
		if code, ok := dispatch(args[0], args[1:], os.Stdin, os.Stdout, os.Stderr); ok {
			return code
		}
	}
	return App().Main(args)
}

func builtin(name string) bool {
	switch name {
	case "up", "down", "status", "logs", "reload", "version", "doctor", "completion", "help":
		return true
	}
	return false
}

// dispatch runs ce-NAME from beside ce or from PATH; ok is false when
// there is no such command.
func dispatch(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	bin := "ce-" + name
	path, err := binpath.Find(bin)
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ee.ExitCode(), true
	default:
		fmt.Fprintf(stderr, "ce: error: run %s: %v\n", bin, err)
		return clikit.ExitFailure, true
	}
}

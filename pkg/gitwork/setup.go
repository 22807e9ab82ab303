package gitwork

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// setupOutputMax is how much of a setup command's output is kept: its end,
// where the reason for a failure usually is.
const setupOutputMax = 64 << 10

// SetupError is a setup command that failed or ran out of time. The
// worktree it ran in is kept.
type SetupError struct {
	Dir     string
	Command string
	// Output is the end of the command's combined stdout and stderr.
	Output []byte
	// ExitCode is the command's exit status, -1 when it was stopped.
	ExitCode int
	// TimedOut reports that the command ran longer than Timeout.
	TimedOut bool
	Timeout  time.Duration
	Err      error
}

func (e *SetupError) Error() string {
	var what string
	switch {
	case e.TimedOut:
		what = fmt.Sprintf("did not finish within %s and was stopped", e.Timeout)
	case e.ExitCode > 0:
		what = fmt.Sprintf("failed with exit status %d", e.ExitCode)
	default:
		what = fmt.Sprintf("failed: %v", e.Err)
	}
	msg := fmt.Sprintf("setup command %q in %s %s", e.Command, e.Dir, what)
	if last := lastLine(e.Output); last != "" {
		msg += fmt.Sprintf(" (last output: %q)", last)
	}
	return msg + "; the worktree is kept: fix the command and run it there again, or remove the worktree"
}

func (e *SetupError) Unwrap() error { return e.Err }

func lastLine(b []byte) string {
	l := lines(b)
	if len(l) == 0 {
		return ""
	}
	s := strings.TrimSpace(l[len(l)-1])
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// runSetup runs command with sh -c in dir and returns its output. The
// command runs in its own process group, so that a timeout stops what it
// started too.
func runSetup(ctx context.Context, dir, command string, timeout time.Duration, env []string) ([]byte, error) {
	if timeout <= 0 {
		timeout = DefaultSetupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = dir
	// the user's locale, but no repository-local git variables and no git
	// prompts: there is no terminal to answer them
	cmd.Env = append(append(cleanEnv(), "GIT_TERMINAL_PROMPT=0"), env...)
	var out tail
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err == nil {
		return out.b, nil
	}
	serr := &SetupError{Dir: dir, Command: command, Output: out.b, ExitCode: -1, Timeout: timeout, Err: err}
	var exit *exec.ExitError
	if ctx.Err() != nil {
		serr.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	} else if errors.As(err, &exit) {
		serr.ExitCode = exit.ExitCode()
	}
	return out.b, serr
}

// tail keeps the last setupOutputMax bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > setupOutputMax {
		t.b = append(t.b[:0], t.b[len(t.b)-setupOutputMax:]...)
	}
	return len(p), nil
}

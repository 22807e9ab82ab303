package gitwork

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// DefaultCommandTimeout bounds one git command when Repo.CommandTimeout is
// zero. It is generous because worktree add checks out a whole tree.
const DefaultCommandTimeout = 2 * time.Minute

// localEnv are the variables that point git at a particular repository,
// index or object store (git rev-parse --local-env-vars). Inherited from a
// hook or a wrapper they would make every command act on the wrong
// repository, so they are dropped unless a command sets them itself.
var localEnv = []string{
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
	"GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
	"GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE",
	"GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
	"GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
	"GIT_NAMESPACE",
}

// cleanEnv is the process environment without repository-local variables.
func cleanEnv() []string {
	env := os.Environ()
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(localEnv, k) || strings.HasPrefix(k, "GIT_CONFIG_KEY_") || strings.HasPrefix(k, "GIT_CONFIG_VALUE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// gitEnv is the environment of every git command: cleanEnv in the C locale
// (messages are parsed), never prompting, then extra (which may set any of
// the dropped variables on purpose).
func gitEnv(extra []string) []string {
	var out []string
	for _, kv := range cleanEnv() {
		if k, _, _ := strings.Cut(kv, "="); k != "LC_ALL" && k != "GIT_TERMINAL_PROMPT" {
			out = append(out, kv)
		}
	}
	out = append(out, "LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
	return append(out, extra...)
}

// gitCmd is one git invocation.
type gitCmd struct {
	dir   string
	args  []string
	env   []string
	stdin io.Reader
	// query adds --no-optional-locks: the command only reads.
	query bool
	// codes lists exit statuses besides 0 that are answers, not failures
	// (merge-tree exits 1 on conflicts).
	codes []int
}

type gitResult struct {
	out  []byte
	code int
}

// GitError is a git command that failed. Its message names the command and
// directory and quotes git's own complaint.
type GitError struct {
	Args   []string // arguments after "git"
	Dir    string
	Code   int // exit status, -1 when git did not run to the end
	Stderr string
	Err    error
}

func (e *GitError) Error() string {
	what := "git " + subcommand(e.Args)
	if e.Err != nil {
		return fmt.Sprintf("%s in %s: %v", what, e.Dir, e.Err)
	}
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.Code)
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " | ")), " ")
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return fmt.Sprintf("%s failed in %s: %s", what, e.Dir, msg)
}

func (e *GitError) Unwrap() error { return e.Err }

// subcommand names the git command in args: the first argument that is
// not a global option, and for "worktree" the action after it.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-c" || a == "-C" {
			i++
			continue
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		if a == "worktree" && i+1 < len(args) {
			return a + " " + args[i+1]
		}
		return a
	}
	return strings.Join(args, " ")
}

// runGit runs one git command with its own deadline (timeout, or ctx's if
// earlier). The command runs in its own process group so that a timeout
// also stops the hooks and helpers git started.
func runGit(ctx context.Context, timeout time.Duration, c gitCmd) (gitResult, error) {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := c.args
	if c.query {
		args = append([]string{"--no-optional-locks"}, args...)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.dir
	cmd.Env = gitEnv(c.env)
	cmd.Stdin = c.stdin
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res := gitResult{out: out.Bytes(), code: cmd.ProcessState.ExitCode()}
	if err == nil {
		return res, nil
	}
	gerr := &GitError{Args: c.args, Dir: c.dir, Code: res.code, Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		gerr.Err = errors.New("git is not installed: install git 2.38 or later")
	case parent.Err() != nil:
		gerr.Code = -1
		gerr.Err = fmt.Errorf("stopped: %w", parent.Err())
	case ctx.Err() != nil:
		gerr.Code = -1
		gerr.Err = fmt.Errorf("did not finish within %s: a hook may hang or the repository is very large; raise the command timeout", timeout)
	case errors.As(err, &exit):
		if slices.Contains(c.codes, res.code) {
			return res, nil
		}
	default:
		gerr.Err = err
	}
	return res, gerr
}

// lines splits git output into non-empty lines.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// fields0 splits NUL-terminated git output.
func fields0(b []byte) []string {
	s := strings.Split(string(b), "\x00")
	if len(s) > 0 && s[len(s)-1] == "" {
		s = s[:len(s)-1]
	}
	return s
}

func trim(b []byte) string { return strings.TrimSpace(string(b)) }

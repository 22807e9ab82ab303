package heartbeat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Instructions is the checklist as a beat reads it.
type Instructions struct {
	Path string `json:"path"`
	// State is "missing", "empty" (only headings, comments and blank
	// lines) or "ok".
	State string `json:"state"`
	Lines int    `json:"lines"`
	Text  string `json:"-"`
	Cut   bool   `json:"cut,omitempty"`
}

var htmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)

// ReadInstructions reads the checklist at path. A missing file is not an
// error: it means nothing to do.
func ReadInstructions(path string) (Instructions, error) {
	in := Instructions{Path: path, State: "missing"}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return in, nil
	}
	if err != nil {
		return in, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxInstructions+1))
	if err != nil {
		return in, err
	}
	if len(b) > MaxInstructions {
		b, in.Cut = b[:MaxInstructions], true
	}
	in.Text = string(b)
	in.Lines = strings.Count(strings.TrimRight(in.Text, "\n"), "\n") + 1
	in.State = "empty"
	if Meaningful(in.Text) {
		in.State = "ok"
	}
	return in, nil
}

// Meaningful reports whether a checklist asks for anything: a line other
// than blank lines, Markdown headings and HTML comments.
func Meaningful(md string) bool {
	for _, l := range strings.Split(htmlComment.ReplaceAllString(md, ""), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// GateResult is what one gate command did.
type GateResult struct {
	Command string `json:"command"`
	Fired   bool   `json:"fired"`
	Exit    int    `json:"exit"`
	// Error says why the command did not run to its end (timeout, not
	// started); such a gate has not fired.
	Error      string `json:"error,omitempty"`
	Output     string `json:"output,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// runGates runs every gate at once, each with its own timeout, in dir.
func runGates(ctx context.Context, gates []string, dir string, env []string, timeout time.Duration) []GateResult {
	out := make([]GateResult, len(gates))
	var wg sync.WaitGroup
	for i, g := range gates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			r := runCommand(ctx, []string{"/bin/sh", "-c", g}, "", dir, env, timeout, MaxGateOutput)
			gr := GateResult{Command: g, Exit: r.exit, DurationMS: time.Since(start).Milliseconds()}
			switch {
			case r.timedOut:
				gr.Error = "timed out after " + timeout.String()
			case r.err != nil:
				gr.Error = r.err.Error()
			case r.exit == 0:
				gr.Fired = true
				gr.Output = string(r.stdout)
				if r.cut {
					gr.Output += "\n[output cut]"
				}
			}
			out[i] = gr
		}()
	}
	wg.Wait()
	return out
}

// result is how a command ended.
type result struct {
	stdout, stderr []byte
	cut            bool
	exit           int
	timedOut       bool
	err            error // not started, or killed by ctx
}

// runCommand runs argv in its own process group with stdin, in dir, with
// env, killing the whole group at the timeout or when ctx ends, and
// keeping at most maxOut bytes of stdout.
func runCommand(ctx context.Context, argv []string, stdin, dir string, env []string, timeout time.Duration, maxOut int) result {
	var r result
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	stdout := &capped{max: maxOut}
	stderr := &capped{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		r.err = err
		return r
	}
	err := cmd.Wait()
	// Whatever the command left behind in its group goes too.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	r.stdout, r.stderr, r.cut = stdout.buf.Bytes(), stderr.buf.Bytes(), stdout.cut
	r.exit = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.timedOut = true
	case ctx.Err() != nil:
		r.err = ctx.Err()
	case err != nil && !errors.As(err, &ee):
		r.err = err
	}
	return r
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
			c.cut = true
		} else {
			c.buf.Write(p)
		}
	} else if len(p) > 0 {
		c.cut = true
	}
	return len(p), nil
}

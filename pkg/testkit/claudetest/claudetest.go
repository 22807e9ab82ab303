// Package claudetest runs the real claude (package claudebin) against the
// fake Anthropic API (package fakeapi) in tests, and reads the stream-json
// events it prints. It is test support inside ce: only tests import it, and
// other programs should not rely on it.
package claudetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
)

// Start returns the claude binary, installed by claudebin.Ensure, and a
// fake API, closed when the test ends.
func Start(tb testing.TB) (bin string, srv *fakeapi.Server) {
	tb.Helper()
	bin, err := claudebin.Ensure()
	if err != nil {
		tb.Fatal(err)
	}
	srv, err = fakeapi.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	return bin, srv
}

// Run is what one claude run with --output-format stream-json printed, and
// how it ended.
type Run struct {
	Events []map[string]any // stdout, one event a line
	Code   int              // the exit status; -1 when claude did not run
	Stderr string
	Took   time.Duration
}

// OfType returns the events of type typ and, unless subtype is "", of that
// subtype.
func (r Run) OfType(typ, subtype string) []map[string]any {
	var out []map[string]any
	for _, e := range r.Events {
		if e["type"] == typ && (subtype == "" || e["subtype"] == subtype) {
			out = append(out, e)
		}
	}
	return out
}

// Result returns the run's one result event; anything else fails the test.
func (r Run) Result(t testing.TB) map[string]any {
	t.Helper()
	res := r.OfType("result", "")
	if len(res) != 1 {
		t.Fatalf("%d result events; stderr: %s", len(res), r.Stderr)
	}
	return res[0]
}

// RunStreamJSON runs bin with --output-format stream-json --verbose and
// args, with env, in dir, with stdin, and reads the events it prints. It
// kills claude's process group when claude ends or ctx is done, so that
// what claude started (MCP servers, tools) goes with it. Trouble is
// reported with t.Errorf, so it may run off the test's goroutine.
func RunStreamJSON(ctx context.Context, t testing.TB, bin string, env []string, dir, stdin string, args ...string) Run {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--output-format", "stream-json", "--verbose"}, args...)...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	run := Run{Stderr: stderr.String(), Took: time.Since(start)}
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // children claude may have left
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.Code = exit.ExitCode()
	case err != nil:
		t.Errorf("claude: %v; stderr: %s", err, run.Stderr)
		run.Code = -1
		return run
	}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("stdout line %q: %v", sc.Text(), err)
			continue
		}
		run.Events = append(run.Events, e)
	}
	return run
}

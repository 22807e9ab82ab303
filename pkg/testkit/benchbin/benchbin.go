// Package benchbin builds ce's binaries once for benchmarks that time the
// real commands: a TestMain calls Main, which builds only when benchmarks
// were asked for (so `go test` stays fast) and removes them afterwards. A
// Platform then runs them on a state directory of their own. It is test
// support inside ce: only tests import it.
package benchbin

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

// Module is the import path prefix of ce's packages.
const Module = "github.com/ce-platform/ce/"

// Main runs the tests of m. When benchmarks run, it first builds the given
// packages (paths relative to the module, e.g. "cmd/ce-cron") statically,
// as make build does, into a temporary directory put first on PATH, and
// stores that directory in *dir. It returns the exit status for os.Exit.
func Main(m *testing.M, dir *string, pkgs ...string) int {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return m.Run()
	}
	d, err := os.MkdirTemp("", "ce-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", d + "/"}
	for _, p := range pkgs {
		if !strings.HasPrefix(p, Module) {
			p = Module + p
		}
		args = append(args, p)
	}
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	os.Setenv("PATH", d+string(os.PathListSeparator)+os.Getenv("PATH"))
	*dir = d
	return m.Run()
}

// Platform is a state directory, a config file and the environment that
// runs ce's binaries on them, in a short temporary directory (the broker's
// socket under the state directory must fit in 108 bytes) removed when the
// benchmark ends.
type Platform struct {
	tb testing.TB
	// Bin holds the binaries, as Main built them.
	Bin string
	// Dir is the temporary directory, and the directory commands run in.
	Dir string
	// State is the state directory (CE_STATE_DIR), Dir/s, not yet made.
	State string
	// Config is the config file (CE_CONFIG), Dir/config.yaml.
	Config string
	// Env is the environment of commands: os.Environ, CE_STATE_DIR,
	// CE_CONFIG, Bin first on PATH, then the extra variables given.
	Env []string
	// Stop is the signal that stops what Start started; SIGTERM if nil.
	Stop os.Signal
}

// NewPlatform makes a platform for the binaries in bin, its config file
// holding config.
func NewPlatform(tb testing.TB, bin, config string, extraEnv ...string) *Platform {
	tb.Helper()
	dir := statetest.ShortDir(tb)
	p := &Platform{tb: tb, Bin: bin, Dir: dir, State: filepath.Join(dir, "s"), Config: filepath.Join(dir, "config.yaml")}
	if err := os.WriteFile(p.Config, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	p.Env = append(os.Environ(), "CE_STATE_DIR="+p.State, "CE_CONFIG="+p.Config, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	p.Env = append(p.Env, extraEnv...)
	return p
}

// StateDir opens the state directory, for the benchmark to fill or read
// in its own process.
func (p *Platform) StateDir() *statedir.Dir {
	p.tb.Helper()
	st, err := statedir.Open(p.State)
	if err != nil {
		p.tb.Fatal(err)
	}
	return st
}

// Command returns the command that runs the binary name with args, in Dir,
// with Env.
func (p *Platform) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.Bin, name), args...)
	cmd.Env, cmd.Dir = slices.Clone(p.Env), p.Dir
	return cmd
}

// Run runs the binary name with args to its end and returns its stdout; a
// failure fails the benchmark.
func (p *Platform) Run(name string, args ...string) string {
	p.tb.Helper()
	return p.RunInput(nil, name, args...)
}

// RunInput is Run with stdin (none if nil).
func (p *Platform) RunInput(stdin []byte, name string, args ...string) string {
	p.tb.Helper()
	cmd := p.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.tb.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// Start starts the binary name with args, as StartCmd does.
func (p *Platform) Start(name string, args ...string) *exec.Cmd {
	p.tb.Helper()
	return p.StartCmd(p.Command(name, args...))
}

// StartCmd starts cmd, a daemon, and stops it with Stop when the benchmark
// ends, unless the benchmark waited for it itself. A daemon that does not
// stop within 20 s fails the benchmark, with its output and, from SIGQUIT,
// its goroutines. Its output goes to a buffer unless cmd says otherwise.
func (p *Platform) StartCmd(cmd *exec.Cmd) *exec.Cmd {
	p.tb.Helper()
	var out bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &out
	}
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	stop := p.Stop
	if stop == nil {
		stop = syscall.SIGTERM
	}
	p.tb.Cleanup(func() {
		if cmd.ProcessState != nil {
			return
		}
		cmd.Process.Signal(stop)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Signal(syscall.SIGQUIT)
			<-done
			p.tb.Errorf("%s did not stop on %v:\n%s", strings.Join(cmd.Args, " "), stop, out.String())
		}
	})
	return cmd
}

// Await calls cond every 10 ms until it returns nil, and fails the
// benchmark with its last error when that takes longer than timeout.
func Await(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package clitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hello "github.com/ce-platform/ce/contrib/ext-hello"

	"github.com/ce-platform/ce/pkg/cli/bridgecmd"
	"github.com/ce-platform/ce/pkg/cli/cecmd"
	"github.com/ce-platform/ce/pkg/cli/croncmd"
	"github.com/ce-platform/ce/pkg/cli/heartbeatcmd"
	"github.com/ce-platform/ce/pkg/cli/mcpcmd"
	"github.com/ce-platform/ce/pkg/cli/memorycmd"
	"github.com/ce-platform/ce/pkg/cli/queuecmd"
	"github.com/ce-platform/ce/pkg/cli/sessioncmd"
	"github.com/ce-platform/ce/pkg/cli/vaultcmd"
	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
	"github.com/ce-platform/ce/pkg/testkit/instantagent"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ce":           func() { os.Exit(cecmd.Main(os.Args[1:])) },
		"ce-session":   func() { os.Exit(sessioncmd.Main(os.Args[1:])) },
		"ce-queue":     func() { os.Exit(queuecmd.Main(os.Args[1:])) },
		"ce-bridge":    func() { os.Exit(bridgecmd.Main(os.Args[1:])) },
		"ce-mcp":       func() { os.Exit(mcpcmd.Main(os.Args[1:])) },
		"ce-memory":    func() { os.Exit(memorycmd.Main(os.Args[1:])) },
		"ce-vault":     func() { os.Exit(vaultcmd.Main(os.Args[1:])) },
		"ce-cron":      func() { os.Exit(croncmd.Main(os.Args[1:])) },
		"ce-ext-hello": func() { os.Exit(hello.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"instant-agent": func() {
			os.Exit(instantagent.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
		"ce-heartbeat": func() { os.Exit(heartbeatcmd.Main(os.Args[1:])) },
		"bridge-squat": func() { os.Exit(squat()) },
	})
}

// TestScripts runs the CLI scripts in testdata: the real commands, real
// tmux, and the real claude against a fake Anthropic API, one per script.
func TestScripts(t *testing.T) {
	claude, err := claudebin.Ensure()
	if err != nil {
		t.Fatalf("install the pinned claude: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup:               func(env *testscript.Env) error { return Setup(env, filepath.Dir(claude)) },
		Cmds:                Cmds,
	})
}

// Setup gives a script its own state directory, config, HOME and fake API,
// and stops the script's tmux server when it ends.
func Setup(env *testscript.Env, claudeDir string) error {
	work := env.WorkDir
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(filepath.Join(work, ".config", "ce"), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	srv, err := fakeapi.Start()
	if err != nil {
		return err
	}
	env.Values["fake"] = srv
	for _, kv := range claudebin.Env(home, srv.URL()) {
		k, v, _ := strings.Cut(kv, "=")
		env.Setenv(k, v)
	}
	state := filepath.Join(work, "state")
	env.Setenv("CE_STATE_DIR", state)
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, ".config"))
	env.Setenv("PATH", claudeDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("USER", "tester")
	cfg := "agent:\n  launch_gap: 0s\n"
	if err := os.WriteFile(filepath.Join(work, ".config", "ce", "config.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	env.Defer(func() {
		exec.Command("tmux", "-S", filepath.Join(state, "tmux.sock"), "kill-server").Run()
		srv.Close()
	})
	return nil
}

func fake(ts *testscript.TestScript) *fakeapi.Server {
	return ts.Value("fake").(*fakeapi.Server)
}

// Cmds are the script commands beyond testscript's own.
var Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// fake reply TEXT...         the next turn answers TEXT
	// fake tool NAME JSON        the next turn calls tool NAME with JSON input
	// fake slow SECONDS [TEXT]   the next turn answers after SECONDS
	// fake error STATUS MESSAGE  the next turn fails with an HTTP error
	// fake wait N                wait until N conversation turns were requested
	// fake turns N               N conversation turns were requested
	// fake history N             the last turn carried N messages
	// fake saw TEXT              some turn's request contained TEXT
	"fake": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 1 {
			ts.Fatalf("usage: fake reply|slow|error|turns|history|saw ...")
		}
		srv := fake(ts)
		switch args[0] {
		case "reply":
			srv.Push(fakeapi.Reply{Text: strings.Join(args[1:], " ")})
		case "tool":
			// fake tool NAME JSON: the next turn calls a tool
			var input any
			ts.Check(json.Unmarshal([]byte(strings.Join(args[2:], " ")), &input))
			srv.Push(fakeapi.Reply{ToolUse: &fakeapi.ToolUse{Name: args[1], Input: input}})
		case "slow":
			secs, err := strconv.ParseFloat(args[1], 64)
			ts.Check(err)
			srv.Push(fakeapi.Reply{Text: strings.Join(args[2:], " "), Delay: time.Duration(secs * float64(time.Second))})
		case "error":
			status, err := strconv.Atoi(args[1])
			ts.Check(err)
			// claude retries a failed turn several times: one sticky
			// error answers them all.
			srv.Push(fakeapi.Error(status, strings.Join(args[2:], " ")))
		case "wait":
			n, _ := strconv.Atoi(args[1])
			deadline := time.Now().Add(30 * time.Second)
			for len(srv.Requests()) < n {
				if time.Now().After(deadline) {
					ts.Fatalf("fake API saw %d turns after 30s, want %d", len(srv.Requests()), n)
				}
				time.Sleep(10 * time.Millisecond)
			}
		case "dump":
			for i, r := range srv.AllRequests() {
				ts.Logf("%d %s %s turn=%v stream=%v max=%d msgs=%d tools=%d last=%q", i, r.Method, r.Path, r.Turn, r.Stream, r.MaxTokens, len(r.Messages), len(r.Tools), r.LastUserText())
			}
		case "turns":
			n, _ := strconv.Atoi(args[1])
			if got := len(srv.Requests()); (got == n) == neg {
				ts.Fatalf("fake API saw %d turns, want %d", got, n)
			}
		case "history":
			n, _ := strconv.Atoi(args[1])
			reqs := srv.Requests()
			if len(reqs) == 0 {
				ts.Fatalf("fake API saw no turn")
			}
			if got := len(reqs[len(reqs)-1].Messages); (got == n) == neg {
				ts.Fatalf("last turn carried %d messages, want %d", got, n)
			}
		case "saw":
			want := strings.Join(args[1:], " ")
			found := false
			for _, r := range srv.Requests() {
				if r.HasText(want) {
					found = true
				}
			}
			if found == neg {
				ts.Fatalf("fake API saw %q: %v", want, found)
			}
		default:
			ts.Fatalf("unknown fake command %q", args[0])
		}
	},
	// waitfor DURATION CMD ARGS... retries an exec until it succeeds.
	"waitfor": func(ts *testscript.TestScript, neg bool, args []string) {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		deadline := time.Now().Add(d)
		for {
			cmd := exec.Command(args[1], args[2:]...)
			cmd.Env = scriptEnv(ts)
			cmd.Dir = ts.Getenv("WORK")
			out, err := cmd.CombinedOutput()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitfor %s: still failing after %s: %v\n%s", strings.Join(args[1:], " "), d, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	},
	// waitmatch DURATION REGEXP CMD ARGS... retries an exec until its stdout
	// matches.
	"waitmatch": func(ts *testscript.TestScript, neg bool, args []string) {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		re, err := regexp.Compile(args[1])
		ts.Check(err)
		deadline := time.Now().Add(d)
		for {
			cmd := exec.Command(args[2], args[3:]...)
			cmd.Env = scriptEnv(ts)
			cmd.Dir = ts.Getenv("WORK")
			out, _ := cmd.Output()
			if re.Match(out) {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitmatch %s: no match for %q after %s; last output:\n%s", strings.Join(args[2:], " "), args[1], d, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	},
	// jsonfield FILE KEY WANT checks a top-level field of a JSON object.
	"jsonfield": func(ts *testscript.TestScript, neg bool, args []string) {
		var m map[string]any
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
		got := fmt.Sprint(m[args[1]])
		if (got == args[2]) == neg {
			ts.Fatalf("%s: %s is %q, want %q", args[0], args[1], got, args[2])
		}
	},
	// perm PATH MODE checks a file's permission bits (octal).
	"perm": func(ts *testscript.TestScript, neg bool, args []string) {
		fi, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		want, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		if (fi.Mode().Perm() == os.FileMode(want)) == neg {
			ts.Fatalf("%s is mode %o, want %o", args[0], fi.Mode().Perm(), want)
		}
	},
	// unixtime VAR OFFSET sets VAR to the Unix time OFFSET (a duration) from now.
	"unixtime": func(ts *testscript.TestScript, neg bool, args []string) {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		ts.Setenv(args[0], strconv.FormatInt(time.Now().Add(d).Unix(), 10))
	},
	// sleep DURATION waits, for schedules that are about wall time.
	"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	},
	// mkprompt FILE BYTES writes a prompt of that size.
	"mkprompt": func(ts *testscript.TestScript, neg bool, args []string) {
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Repeat("x", n)), 0o600))
	},
	// pidgone FILE checks that the process whose pid FILE holds (and its
	// process group) is gone.
	"pidgone": func(ts *testscript.TestScript, neg bool, args []string) {
		pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
		ts.Check(err)
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(-pid, 0) == nil || syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				ts.Fatalf("process group %d is still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	},
	// killpiece NAME kills (SIGKILL) the process of a piece ce up runs.
	"killpiece": func(ts *testscript.TestScript, neg bool, args []string) {
		var st struct {
			Pieces []struct {
				Name string `json:"name"`
				PID  int    `json:"pid"`
			} `json:"pieces"`
		}
		ts.Check(json.Unmarshal([]byte(ts.ReadFile(filepath.Join(ts.Getenv("CE_STATE_DIR"), "supervisor.json"))), &st))
		for _, p := range st.Pieces {
			if p.Name == args[0] && p.PID > 0 {
				ts.Check(syscall.Kill(p.PID, syscall.SIGKILL))
				return
			}
		}
		ts.Fatalf("no running piece %q", args[0])
	},
	// status N CMD ARGS... runs CMD as exec does and checks that it exits
	// with status N (128+signal for a signal).
	"status": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: status N CMD ARGS...")
		}
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		if got := exitStatus(ts.Exec(args[1], args[2:]...)); got != want {
			ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
		}
	},
	// spawn NAME CMD ARGS... starts CMD in the background with its output
	// in $WORK/NAME.stdout and NAME.stderr, to be read while it runs (with
	// waitmatch ... cat NAME.stdout) and ended with signal NAME; it is
	// killed when the script ends.
	"spawn": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: spawn NAME CMD ARGS...")
		}
		path, err := exec.LookPath(args[1])
		if err != nil {
			path = args[1]
		}
		cmd := exec.Command(path, args[2:]...)
		cmd.Env, cmd.Dir = scriptEnv(ts), ts.Getenv("WORK")
		out, err := os.Create(ts.MkAbs(args[0] + ".stdout"))
		ts.Check(err)
		errf, err := os.Create(ts.MkAbs(args[0] + ".stderr"))
		ts.Check(err)
		cmd.Stdout, cmd.Stderr = out, errf
		ts.Check(cmd.Start())
		sc := &spawnedCmd{cmd: cmd, done: make(chan struct{})}
		go func() {
			sc.err = cmd.Wait()
			out.Close()
			errf.Close()
			close(sc.done)
		}()
		spawned.Store(ts.MkAbs(args[0]), sc)
		ts.Defer(func() {
			cmd.Process.Kill()
			<-sc.done
		})
	},
	// signal NAME SIGNAL N sends a spawned command SIGNAL (INT, TERM or
	// KILL) and checks that it exits with status N.
	"signal": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: signal NAME SIGNAL N")
		}
		v, ok := spawned.LoadAndDelete(ts.MkAbs(args[0]))
		if !ok {
			ts.Fatalf("no spawned command %q", args[0])
		}
		sc := v.(*spawnedCmd)
		sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL}[args[1]]
		if sig == 0 {
			ts.Fatalf("unknown signal %q", args[1])
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		ts.Check(sc.cmd.Process.Signal(sig))
		var got int
		select {
		case <-sc.done:
			got = exitStatus(sc.err)
		case <-time.After(30 * time.Second):
			ts.Fatalf("%s did not exit within 30s of SIG%s", args[0], args[1])
		}
		if got != want {
			ts.Fatalf("%s exited with status %d after SIG%s, want %d", args[0], got, args[1], want)
		}
	},
	// waitglob DURATION GLOB waits until a file matches GLOB.
	"waitglob": func(ts *testscript.TestScript, neg bool, args []string) {
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
			if m, _ := filepath.Glob(ts.MkAbs(args[1])); len(m) > 0 {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("no file matched %s after %s", args[1], d)
			}
		}
	},
	// killtmux SESSION kills a session's tmux session behind ce's back.
	"killtmux": func(ts *testscript.TestScript, neg bool, args []string) {
		sock := filepath.Join(ts.Getenv("CE_STATE_DIR"), "tmux.sock")
		out, err := exec.Command("tmux", "-S", sock, "kill-session", "-t", "=ce-"+args[0]).CombinedOutput()
		if err != nil {
			ts.Fatalf("kill tmux session: %v: %s", err, out)
		}
	},
}

// spawned holds the commands of spawn, by $WORK/NAME.
var spawned sync.Map

type spawnedCmd struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd exited, with err set
	err  error
}

// exitStatus is the status a command's error stands for: 0, its exit
// code, or 128+signal when a signal ended it.
func exitStatus(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "CE_STATE_DIR", "XDG_CONFIG_HOME", "USER", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_TELEMETRY", "DISABLE_AUTOUPDATER", "TMPDIR"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}

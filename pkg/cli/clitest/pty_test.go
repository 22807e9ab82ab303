package clitest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() { Cmds["pty"] = ptyCmd }

// ptyCmd runs a program on a terminal of its own, as from a person's shell:
//
//	pty [-answer TEXT] [-prompt REGEXP] PROGRAM ARGS...
//
// The program's controlling terminal is a new pty (so /dev/tty opens);
// when its output matches REGEXP (default `\[y/N\] $`) TEXT and a newline
// are typed. What the terminal showed, stdout and stderr together, becomes
// the script's stdout.
func ptyCmd(ts *testscript.TestScript, neg bool, args []string) {
	answer, prompt := "", `\[y/N\] $`
	for len(args) >= 2 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-answer":
			answer = args[1]
		case "-prompt":
			prompt = args[1]
		default:
			ts.Fatalf("usage: pty [-answer TEXT] [-prompt REGEXP] PROGRAM ARGS...")
		}
		args = args[2:]
	}
	if len(args) == 0 {
		ts.Fatalf("usage: pty [-answer TEXT] [-prompt REGEXP] PROGRAM ARGS...")
	}
	re := regexp.MustCompile(prompt)
	cmd := exec.Command(lookPath(ts, args[0]), args[1:]...)
	cmd.Env = fullEnv(ts)
	cmd.Dir = ts.MkAbs(".")
	tty, err := pty.Start(cmd)
	ts.Check(err)
	defer tty.Close()

	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		typed := answer == ""
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			if !typed && re.Match(out.Bytes()) {
				typed = true
				tty.Write([]byte(answer + "\n"))
			}
			mu.Unlock()
			if err != nil {
				return // EIO once the program and its children closed the terminal
			}
		}
	}()
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	werr := cmd.Wait()
	timer.Stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	shown := strings.ReplaceAll(out.String(), "\r\n", "\n")
	mu.Unlock()
	ts.Stdout().Write([]byte(shown))
	var exit *exec.ExitError
	switch {
	case werr != nil && !errors.As(werr, &exit):
		ts.Fatalf("pty %s: %v", args[0], werr)
	case neg && werr == nil:
		ts.Fatalf("pty %s: unexpected success", args[0])
	case !neg && werr != nil:
		ts.Fatalf("pty %s: %v", args[0], werr)
	}
}

// fullEnv is the script's environment as exec would give it.
func fullEnv(ts *testscript.TestScript) []string {
	ts.Check(ts.Exec("env", "-0"))
	var env []string
	for _, kv := range strings.Split(ts.ReadFile("stdout"), "\x00") {
		if kv != "" {
			env = append(env, kv)
		}
	}
	return env
}

// lookPath finds a program in the script's PATH, as exec would.
func lookPath(ts *testscript.TestScript, name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	ts.Fatalf("pty: %s not found in the script's PATH", name)
	return ""
}

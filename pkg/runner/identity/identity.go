// Package identity says what a session's runner is, for both sides: the
// command line that starts it (ce-queue's hidden runner subcommand) and how
// a process is recognised as running inside a session (one of its
// ancestors is a runner). It is small so that programs that only ask the
// question, such as the vault agent, need not link the runner.
package identity

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Program and Subcommand identify a runner: it is the hidden "runner"
// subcommand of ce-queue. Argv builds its command line and SessionOf
// recognises it by the same two words, so both sides agree.
const (
	Program    = "ce-queue"
	Subcommand = "runner"
)

// Argv is the command line that starts the runner of a session; exe is the
// path of Program.
func Argv(exe, stateDir, configPath, session string) []string {
	argv := []string{exe, Subcommand, "--state-dir", stateDir}
	if configPath != "" {
		argv = append(argv, "--config", configPath)
	}
	return append(argv, session)
}

// sessionOfArgv returns the session a runner command line serves.
func sessionOfArgv(args []string) (string, bool) {
	if len(args) < 3 || filepath.Base(args[0]) != Program || args[1] != Subcommand {
		return "", false
	}
	return args[len(args)-1], true
}

// SessionOf reports whether process pid runs inside a ce session: whether
// one of its ancestors is a session's runner. Every process a session
// starts (claude, its tools, their children) descends from the runner,
// unless it left the tree on purpose (setsid, a daemon, a window on ce's
// tmux server): this check alone does not hold against a hostile process.
func SessionOf(pid int) (string, bool) {
	for i := 0; pid > 1 && i < 64; i++ {
		if name, ok := runnerSession(pid); ok {
			return name, true
		}
		ppid, err := parentOf(pid)
		if err != nil {
			return "", false
		}
		pid = ppid
	}
	return "", false
}

func runnerSession(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "", false
	}
	return sessionOfArgv(strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00"))
}

func parentOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: parse after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat of %d", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("bad stat of %d", pid)
	}
	return strconv.Atoi(f[1])
}

package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SessionOf reports whether process pid runs inside a ce session: whether
// one of its ancestors is a session's runner ("ce-queue runner ... NAME").
// Every process a session starts (claude, its tools, their children)
// descends from the runner. Providers use it to refuse what sessions may
// not do, such as reading secret values.
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
	args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
	if len(args) < 3 || filepath.Base(args[0]) != "ce-queue" || args[1] != "runner" {
		return "", false
	}
	return args[len(args)-1], true
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

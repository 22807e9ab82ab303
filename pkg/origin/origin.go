// Package origin tells where a process runs, for the decisions that only
// the person may make (answering a session's question, confirming a vault
// read): inside a session (one of its ancestors is a session's runner), on
// a terminal of ce's own tmux server (a window a session could have opened
// and typed into), or elsewhere. A process of the same user that left the
// session's tree (setsid, a daemon) and has no terminal cannot be told
// apart from a script the person runs: these checks stop a session's
// ordinary tools, not a determined attacker, for whom ce-sandbox(7) and a
// separate uid are the answer. It is an implementation detail of ce.
package origin

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ce-platform/ce/pkg/runner/identity"
	"github.com/ce-platform/ce/pkg/tmux"
)

// Origin is where a process runs.
type Origin struct {
	PID int
	// Session is the session the process runs in, by ancestry; "" if none.
	Session string
	// TTY is the process's controlling terminal (/dev/pts/3), "" if none.
	TTY string
	// CeTmux is set when TTY is a pane of ce's own tmux server.
	CeTmux bool
}

// Of looks at process pid; tmuxSocket is ce's tmux server.
func Of(ctx context.Context, pid int, tmuxSocket string) Origin {
	o := Origin{PID: pid}
	o.Session, _ = identity.SessionOf(pid)
	o.TTY = ttyOf(pid)
	if o.TTY != "" {
		o.CeTmux = paneTTY(ctx, tmuxSocket, o.TTY)
	}
	return o
}

// Self is Of for this process.
func Self(ctx context.Context, tmuxSocket string) Origin { return Of(ctx, os.Getpid(), tmuxSocket) }

// Person reports whether the process may speak for the person: it is not
// inside a session and not on ce's tmux.
func (o Origin) Person() bool { return o.Session == "" && !o.CeTmux }

// Why says why a process may not speak for the person, "" if it may.
func (o Origin) Why() string {
	switch {
	case o.Session != "":
		return fmt.Sprintf("this process runs inside session %s", o.Session)
	case o.CeTmux:
		return fmt.Sprintf("this process's terminal %s is a window of ce's tmux server", o.TTY)
	}
	return ""
}

// ttyOf reads the controlling terminal from /proc/PID/stat (tty_nr);
// only pseudo-terminals (/dev/pts/N) and the console are named.
func ttyOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 5 {
		return ""
	}
	nr, err := strconv.Atoi(f[4])
	if err != nil || nr == 0 {
		return ""
	}
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case major >= 136 && major <= 143: // Unix98 pseudo-terminals
		return fmt.Sprintf("/dev/pts/%d", (major-136)*256+minor)
	case major == 4:
		return fmt.Sprintf("/dev/tty%d", minor)
	}
	return fmt.Sprintf("tty %d:%d", major, minor)
}

// paneTTY reports whether tty is the terminal of a pane of the tmux server
// at socket.
func paneTTY(ctx context.Context, socket, tty string) bool {
	ttys, err := (&tmux.Server{Socket: socket}).PaneTTYs(ctx)
	if err != nil {
		return false
	}
	for _, t := range ttys {
		if t == tty {
			return true
		}
	}
	return false
}

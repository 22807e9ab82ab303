// Package statetest gives tests a fresh ce state directory (package
// statedir), under a short path when a broker's socket must fit in it, and
// reads back the events recorded there. It is test support inside ce: only
// tests import it, and other programs should not rely on it.
package statetest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/statedir"
)

// ShortDir returns a new directory under os.TempDir, removed when the test
// ends. Unlike t.TempDir's, its path does not hold the test's name, so a
// socket under it fits the 108 bytes of a Unix socket path.
func ShortDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "ce-test")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// New opens a state directory in a fresh t.TempDir.
func New(tb testing.TB) *statedir.Dir {
	tb.Helper()
	return open(tb, tb.TempDir())
}

// Short opens a state directory in a fresh ShortDir, for tests that run a
// broker on the state directory's socket.
func Short(tb testing.TB) *statedir.Dir {
	tb.Helper()
	return open(tb, ShortDir(tb))
}

func open(tb testing.TB, root string) *statedir.Dir {
	tb.Helper()
	st, err := statedir.Open(root)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// Events returns the events of the state directory's event log, oldest
// first, failing the test when the log is missing or holds a line that is
// not an event. Rotated files are not read.
func Events(tb testing.TB, st *statedir.Dir) []eventlog.Event {
	tb.Helper()
	b, err := os.ReadFile(st.Path(eventlog.FileName))
	if err != nil {
		tb.Fatal(err)
	}
	var out []eventlog.Event
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev eventlog.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			tb.Fatalf("event log line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

// Types returns the types of Events, in order.
func Types(tb testing.TB, st *statedir.Dir) []string {
	tb.Helper()
	var out []string
	for _, ev := range Events(tb, st) {
		out = append(out, ev.Type)
	}
	return out
}

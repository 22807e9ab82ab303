package origin

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/tmux"
)

func TestThisProcessIsThePerson(t *testing.T) {
	o := Self(context.Background(), filepath.Join(t.TempDir(), "no.sock"))
	if !o.Person() || o.Why() != "" || o.Session != "" {
		t.Fatalf("the test process = %+v (%s)", o, o.Why())
	}
}

// A process in a window of ce's tmux server is not the person, whatever it
// types: its terminal is one of the server's panes.
func TestCeTmuxWindowIsNotThePerson(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	srv := &tmux.Server{Socket: sock}
	ctx := context.Background()
	t.Cleanup(func() { srv.KillServer(ctx) })
	if err := srv.NewSession(ctx, "x", t.TempDir(), []string{"sleep", "30"}); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(5 * time.Second); pid == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pid, _ = srv.PanePID(ctx, "x")
	}
	if pid == 0 {
		t.Fatal("no pane pid")
	}
	o := Of(ctx, pid, sock)
	if !strings.HasPrefix(o.TTY, "/dev/pts/") || !o.CeTmux || o.Person() || !strings.Contains(o.Why(), "ce's tmux server") {
		t.Fatalf("the pane's process = %+v (%s)", o, o.Why())
	}
	// The same process seen against another server is not on ce's tmux.
	if other := Of(ctx, pid, filepath.Join(t.TempDir(), "other.sock")); other.CeTmux {
		t.Fatalf("against another socket: %+v", other)
	}
	out, err := exec.Command("ps", "-o", "tty=", "-p", strconv.Itoa(pid)).Output()
	if err == nil && !strings.HasSuffix(o.TTY, strings.TrimSpace(string(out))) {
		t.Errorf("tty %s, ps says %s", o.TTY, out)
	}
}

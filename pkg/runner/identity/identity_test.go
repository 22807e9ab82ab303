package identity

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestMain lets the test binary play a runner: with CE_FAKE_RUNNER set it
// starts a child and waits, with argv "ce-queue runner ... NAME".
func TestMain(m *testing.M) {
	if os.Getenv("CE_FAKE_RUNNER") != "" {
		c := exec.Command("sleep", "30")
		c.Stdout = os.Stdout
		c.Start()
		os.Stdout.WriteString("ready\n")
		c.Wait()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSessionOf(t *testing.T) {
	if _, ok := SessionOf(os.Getpid()); ok {
		t.Fatal("the test itself is not in a session")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"ce-queue", "runner", "--state-dir", "/x", "sess1"}, Env: append(os.Environ(), "CE_FAKE_RUNNER=1")}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 6)
	out.Read(buf)
	// find the sleep child of the fake runner
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			var pid int
			if _, err := fmtSscan(e.Name(), &pid); err != nil {
				continue
			}
			if pp, err := parentOf(pid); err == nil && pp == cmd.Process.Pid {
				child = pid
			}
		}
	}
	if child == 0 {
		t.Fatal("no child of the fake runner")
	}
	if s, ok := SessionOf(child); !ok || s != "sess1" {
		t.Fatalf("SessionOf(child) = %q, %v", s, ok)
	}
	if s, ok := SessionOf(cmd.Process.Pid); !ok || s != "sess1" {
		t.Fatalf("SessionOf(runner) = %q, %v", s, ok)
	}
}

func fmtSscan(s string, pid *int) (int, error) { return fmt.Sscan(s, pid) }

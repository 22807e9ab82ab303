package vaultcmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/vault"
	"golang.org/x/sys/unix"
)

func TestPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	for name, tt := range map[string]struct{ content, want, err string }{
		"line":      {"pass phrase\n", "pass phrase", ""},
		"crlf":      {"pass phrase\r\nsecond line\n", "pass phrase", ""},
		"no eol":    {"  spaces kept  ", "  spaces kept  ", ""},
		"empty":     {"", "", "starts with an empty line"},
		"blank top": {"\nlater\n", "", "starts with an empty line"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(tt.content), 0o600)
		got, err := readPassphraseFile(p, "X")
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: %q, %v", name, got, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", name, err, tt.err)
		case err != nil && tt.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.content)):
			t.Errorf("%s: the error shows the content: %v", name, err)
		}
	}
	if _, err := readPassphraseFile(filepath.Join(dir, "none"), "X"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// drain returns what the terminal echoed to the master so far.
func drain(m *os.File) string {
	var out []byte
	buf := make([]byte, 4096)
	fd := int(m.Fd())
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 200)
		if err != nil || n == 0 {
			return string(out)
		}
		r, err := unix.Read(fd, buf)
		if r <= 0 || err != nil {
			return string(out)
		}
		out = append(out, buf[:r]...)
	}
}

// On a terminal, set asks for the value without echo and restores the
// terminal afterwards.
func TestSetOnTerminalDoesNotEcho(t *testing.T) {
	vault.SetWorkFactorForTests(10)
	dir, err := os.MkdirTemp("", "cevt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("CE_STATE_DIR", filepath.Join(dir, "s"))
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("CE_CONFIG", "")
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("pw\n"), 0o600)
	t.Setenv("CE_VAULT_PASSPHRASE_FILE", pass)
	var out, errb bytes.Buffer
	if code := App().Run([]string{"init"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}

	m, tty := openPTY(t)
	done := make(chan int, 1)
	errb.Reset()
	go func() { done <- App().Run([]string{"set", "api/typed/token"}, tty, &out, &errb) }()
	// Type only once set has turned echo off, as a person would after the
	// prompt.
	for deadline := time.Now().Add(10 * time.Second); ; {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("set never turned echo off")
		}
		time.Sleep(5 * time.Millisecond)
	}
	m.Write([]byte("typed-secret-value\n"))
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("set: %d %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("set did not return")
	}
	if echoed := drain(m); strings.Contains(echoed, "typed-secret") {
		t.Fatalf("the value was echoed: %q", echoed)
	}
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Fatalf("echo was not restored: %v", err)
	}

	out.Reset()
	if code := App().Run([]string{"get", "api/typed/token"}, strings.NewReader(""), &out, &errb); code != 0 || out.String() != "typed-secret-value" {
		t.Fatalf("get: %d %q %s", code, out.String(), errb.String())
	}
}

package vault

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a fake clock for the agent.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func handle(t *testing.T, a *Agent, method string, params any, out any) error {
	t.Helper()
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		raw = b
	}
	res, err := a.Handle(context.Background(), method, raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func TestAgentIdleLock(t *testing.T) {
	v, _ := newVault(t)
	c := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	a := NewAgent(v, 15*time.Minute, nil)
	a.Now = c.now
	if a.Expire() {
		t.Fatal("a locked agent expired")
	}
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if !st.Unlocked || st.LocksAt == nil || !st.LocksAt.Equal(c.t.Add(15*time.Minute)) || st.IdleTimeoutMS != 900000 {
		t.Fatalf("status = %+v", st)
	}
	c.advance(14 * time.Minute)
	if a.Expire() {
		t.Fatal("locked before the timeout")
	}
	// A use starts the idle time again.
	mustSet(t, v, "a/b/c", "v")
	var got GetReply
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &got); err != nil || string(got.Value) != "v" {
		t.Fatalf("get = %+v %v", got, err)
	}
	c.advance(14 * time.Minute)
	if a.Expire() || !a.Unlocked() {
		t.Fatal("locked 14 minutes after a use")
	}
	c.advance(time.Minute)
	if !a.Expire() || a.Unlocked() {
		t.Fatal("still unlocked after 15 idle minutes")
	}
	got = GetReply{}
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &got); err != nil || !got.Locked || got.Value != nil {
		t.Fatalf("get when locked = %+v %v", got, err)
	}

	// Timeout 0 never locks by itself.
	a.Configure(0, nil)
	a.Unlock(pass)
	c.advance(1000 * time.Hour)
	if a.Expire() || a.Status().LocksAt != nil {
		t.Fatal("timeout 0 locked")
	}
}

func TestAgentWatchLocks(t *testing.T) {
	v, _ := newVault(t)
	a := NewAgent(v, 50*time.Millisecond, nil)
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	locked := make(chan struct{}, 1)
	go a.Watch(ctx, func() { locked <- struct{}{} })
	select {
	case <-locked:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not lock")
	}
	if a.Unlocked() {
		t.Fatal("unlocked after Watch locked")
	}
	// Unlocking again wakes the watcher for the new deadline.
	a.Unlock(pass)
	select {
	case <-locked:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not lock the second time")
	}
}

func TestAgentMethods(t *testing.T) {
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "value")
	a := NewAgent(v, time.Minute, nil)
	var st Status
	if err := handle(t, a, MethodStatus, nil, &st); err != nil || st.Unlocked || st.PID != os.Getpid() {
		t.Fatalf("status = %+v %v", st, err)
	}
	if err := handle(t, a, MethodUnlock, UnlockRequest{Passphrase: "wrong"}, nil); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("unlock wrong = %v", err)
	}
	if err := handle(t, a, MethodUnlock, UnlockRequest{Passphrase: pass}, &st); err != nil || !st.Unlocked {
		t.Fatalf("unlock = %+v %v", st, err)
	}
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/none"}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get missing = %v", err)
	}
	if err := handle(t, a, MethodGet, GetRequest{Key: "bad"}, nil); err == nil {
		t.Fatal("get bad key = nil")
	}
	if err := handle(t, a, MethodGet, nil, nil); err == nil {
		t.Fatal("get without params = nil")
	}
	var lr LockReply
	if err := handle(t, a, MethodLock, nil, &lr); err != nil || !lr.WasUnlocked || a.Unlocked() {
		t.Fatalf("lock = %+v %v", lr, err)
	}
	if err := handle(t, a, "vault.nope", nil, nil); err == nil {
		t.Fatal("unknown method = nil")
	}
}

func TestAllowed(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("no sh on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "deploy.sh")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o700)
	tests := []struct {
		allow        []string
		program, dir string
		want         string // file, or "" for denied
	}{
		{nil, "sh", "", ""},
		{[]string{"sh"}, "sh", "", sh},
		{[]string{"s?"}, "sh", "", sh},
		{[]string{"bash"}, "sh", "", ""},
		{[]string{"sh"}, sh, "", ""}, // a path needs a pattern with '/'
		{[]string{filepath.Dir(sh) + "/*"}, "sh", "", sh},
		{[]string{filepath.Dir(sh) + "/*"}, sh, "", sh},
		{[]string{dir + "/*.sh"}, "./deploy.sh", dir, script},
		{[]string{dir + "/*.sh"}, "../x/../" + filepath.Base(dir) + "/deploy.sh", dir, script},
		{[]string{"deploy.sh"}, "./deploy.sh", dir, ""},
		{[]string{"/other/*"}, script, "", ""},
	}
	for _, tt := range tests {
		got, err := Allowed(tt.allow, tt.program, tt.dir)
		var denied *DeniedError
		switch {
		case tt.want == "" && !errors.As(err, &denied):
			t.Errorf("Allowed(%v, %s) = %q, %v; want denied", tt.allow, tt.program, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("Allowed(%v, %s) = %q, %v; want %s", tt.allow, tt.program, got, err, tt.want)
		}
	}
	_, err = Allowed(nil, "sh", "")
	if err == nil || !strings.Contains(err.Error(), "allows no command") {
		t.Errorf("empty allowlist: %v", err)
	}
	_, err = Allowed([]string{"no-such-program-x"}, "no-such-program-x", "")
	if err == nil || !strings.Contains(err.Error(), "cannot be run") {
		t.Errorf("allowed but missing: %v", err)
	}
}

func TestAgentExec(t *testing.T) {
	ctx := context.Background()
	v, _ := newVault(t)
	secret := "s3cr3t-Value-42"
	mustSet(t, v, "ci/gh/token", secret)
	mustSet(t, v, "ci/gh/nul", "a\x00b")
	a := NewAgent(v, time.Minute, []string{"sh"})
	req := ExecRequest{
		Argv: []string{"sh", "-c", `echo "len=${#TOKEN}"; echo "$TOKEN"; printf %s "$TOKEN" | od -An -tx1 | tr -d ' \n'; echo; echo "$TOKEN" | base64; echo err >&2; exit 3`},
		Env:  map[string]string{"TOKEN": "ci/gh/token"},
		Dir:  t.TempDir(),
	}
	var rep ExecReply
	if err := handle(t, a, MethodExec, req, &rep); err != nil || !rep.Locked {
		t.Fatalf("exec when locked = %+v %v", rep, err)
	}
	a.Unlock(pass)
	if err := handle(t, a, MethodExec, req, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != 3 || !strings.Contains(rep.Output, "len=15") || !strings.Contains(rep.Output, "err") {
		t.Fatalf("exec = %+v", rep)
	}
	if strings.Contains(rep.Output, secret) || strings.Count(rep.Output, "[redacted:ci/gh/token]") != 3 {
		t.Fatalf("output not redacted:\n%s", rep.Output)
	}

	denied := req
	denied.Argv = []string{"env"}
	if err := handle(t, a, MethodExec, denied, nil); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("exec env = %v", err)
	}
	nul := req
	nul.Env = map[string]string{"X": "ci/gh/nul"}
	if err := handle(t, a, MethodExec, nul, nil); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("exec with NUL secret = %v", err)
	}
	for _, bad := range []ExecRequest{
		{Argv: nil, Env: req.Env},
		{Argv: []string{"sh"}},
		{Argv: []string{"sh"}, Env: map[string]string{"1X": "ci/gh/token"}},
		{Argv: []string{"sh"}, Env: map[string]string{"X": "nokey"}},
		{Argv: []string{"sh"}, Env: req.Env, Dir: "relative"},
	} {
		if err := handle(t, a, MethodExec, bad, nil); err == nil {
			t.Errorf("exec %+v = nil", bad)
		}
	}
	missing := req
	missing.Env = map[string]string{"X": "ci/gh/none"}
	if err := handle(t, a, MethodExec, missing, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("exec missing secret = %v", err)
	}

	// Timeout kills the process group; ce's variables never reach the
	// command.
	t.Setenv("CE_VAULT_PASSPHRASE_FILE", "/somewhere")
	slow := req
	slow.Argv = []string{"sh", "-c", `env | grep '^CE_' ; sleep 30 & sleep 30`}
	slow.TimeoutMS = 200
	start := time.Now()
	rep = Run(ctx, "/bin/sh", slow, nil)
	if !rep.TimedOut || rep.Signal == "" || time.Since(start) > 5*time.Second || strings.Contains(rep.Output, "CE_") {
		t.Fatalf("timeout: %+v after %s", rep, time.Since(start))
	}
}

func TestRedactTruncated(t *testing.T) {
	secret := "ABCDEFGHIJ"
	secrets := []Secret{{Name: "X", Key: "a/b/c", Value: []byte(secret)}}
	// A secret that straddles the cut is redacted whole; one cut by the
	// capture is trimmed, never shown in part.
	req := ExecRequest{Argv: []string{"sh", "-c", `head -c 65530 /dev/zero | tr '\0' x; printf %s "$X"; head -c 100 /dev/zero`}, Env: map[string]string{"X": "a/b/c"}}
	rep := Run(context.Background(), "/bin/sh", req, secrets)
	if !rep.Truncated || len(rep.Output) > MaxOutput || strings.Contains(rep.Output, "ABCDEF") {
		t.Fatalf("truncated: %v len %d tail %q", rep.Truncated, len(rep.Output), rep.Output[len(rep.Output)-30:])
	}
	if got := trimPartial("xxxxABCD", secrets); got != "xxxx" {
		t.Fatalf("trimPartial = %q", got)
	}
	if got := Redact([]byte("k="+secret+"\n"), secrets); got != "k=[redacted:a/b/c]\n" {
		t.Fatalf("Redact = %q", got)
	}
}

package vault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A value leaves the agent only with the person's yes: asked once for all
// the keys of a request, refused when they say no or cannot be asked.
func TestConfirmGet(t *testing.T) {
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "one")
	mustSet(t, v, "a/b/d", "two")
	a := NewAgent(v, time.Minute, nil)
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	var asked []Question
	allow := true
	a.SetConfirmation(Confirmation{Values: true, Timeout: time.Minute, Ask: func(_ context.Context, q Question) (bool, string, error) {
		asked = append(asked, q)
		if allow {
			return true, "", nil
		}
		return false, "user:me denied it", nil
	}})

	var rep GetReply
	if err := handle(t, a, MethodGet, GetRequest{Keys: []string{"a/b/c", "a/b/d"}, Purpose: "exec", Program: "deploy"}, &rep); err != nil {
		t.Fatal(err)
	}
	if string(rep.Values["a/b/c"]) != "one" || string(rep.Values["a/b/d"]) != "two" {
		t.Errorf("values = %q", rep.Values)
	}
	if len(asked) != 1 || !strings.HasPrefix(asked[0].Text, "Give secrets a/b/c, a/b/d to deploy (ce-vault exec)? Asked by pid ") {
		t.Errorf("asked %+v, want one question naming both keys and the program", asked)
	}

	allow = false
	err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &rep)
	if err == nil || err.Error() != "refused by the person: user:me denied it" {
		t.Errorf("denied get = %v", err)
	}
	if !strings.HasPrefix(asked[1].Text, "Read secret a/b/c? ") {
		t.Errorf("question = %q", asked[1].Text)
	}

	// Nobody to ask: refused, and the value stays in.
	a.SetConfirmation(Confirmation{Values: true})
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &rep); err == nil || !strings.Contains(err.Error(), "needs the person's confirmation") {
		t.Errorf("get without anyone to ask = %v", err)
	}
	// Nothing to confirm: the value comes out at once.
	a.SetConfirmation(Confirmation{})
	rep = GetReply{}
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &rep); err != nil || string(rep.Value) != "one" {
		t.Errorf("get without confirmation = %q %v", rep.Value, err)
	}
	// A locked agent says so before anyone is asked.
	a.Lock()
	asked = nil
	a.SetConfirmation(Confirmation{Values: true, Ask: func(context.Context, Question) (bool, string, error) {
		asked = append(asked, Question{})
		return true, "", nil
	}})
	if err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c"}, &rep); err != nil || !rep.Locked || len(asked) != 0 {
		t.Errorf("locked get = %+v %v, asked %d", rep, err, len(asked))
	}
}

// A terminal confirmation is good once, for its own process and keys, for
// a minute; a caller that is not a ce-vault on a terminal cannot use one.
func TestConfirmNonce(t *testing.T) {
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "one")
	a := NewAgent(v, time.Minute, nil)
	c := &clock{t: time.Unix(1_000_000, 0)}
	a.Now = c.now

	n := a.newNonce(42, "a/b/c")
	if a.takeNonce(n, 43, "a/b/c") {
		t.Error("another process used the confirmation")
	}
	n = a.newNonce(42, "a/b/c")
	if a.takeNonce(n, 42, "a/b/d") {
		t.Error("the confirmation served another key")
	}
	n = a.newNonce(42, "a/b/c")
	if !a.takeNonce(n, 42, "a/b/c") || a.takeNonce(n, 42, "a/b/c") {
		t.Error("a confirmation must work exactly once")
	}
	n = a.newNonce(42, "a/b/c")
	c.advance(ConfirmTTL + time.Second)
	if a.takeNonce(n, 42, "a/b/c") {
		t.Error("an expired confirmation worked")
	}

	// The test process is no ce-vault: a nonce it was given does not pass.
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	a.SetConfirmation(Confirmation{Values: true})
	n = a.newNonce(0, "a/b/c")
	err := handle(t, a, MethodGet, GetRequest{Key: "a/b/c", Confirm: n}, nil)
	if err == nil || !strings.Contains(err.Error(), "the confirmation does not match") {
		t.Errorf("get with a nonce from elsewhere = %v", err)
	}
}

// vault_exec of a session waits for the person when vault.confirm has tool.
func TestConfirmTool(t *testing.T) {
	v, _ := newVault(t)
	mustSet(t, v, "a/b/c", "one")
	a := NewAgent(v, time.Minute, []string{"sh"})
	if err := a.Unlock(pass); err != nil {
		t.Fatal(err)
	}
	var q Question
	a.SetConfirmation(Confirmation{Tool: true, Ask: func(_ context.Context, got Question) (bool, string, error) {
		q = got
		return false, "nobody answered a3 within 2m0s", nil
	}})
	req := ExecRequest{Argv: []string{"sh", "-c", "echo ran"}, Env: map[string]string{"T": "a/b/c"}, Session: "s", TimeoutMS: 5000}
	_, err := a.exec(context.Background(), req)
	if err == nil || err.Error() != "refused by the person: nobody answered a3 within 2m0s" {
		t.Errorf("exec refused = %v", err)
	}
	if q.Session != "s" || q.Text != "Run sh with secret a/b/c? Asked by session s (vault_exec)" {
		t.Errorf("question = %+v", q)
	}
	a.SetConfirmation(Confirmation{Tool: true, Ask: func(context.Context, Question) (bool, string, error) {
		return false, "", errors.New("the pending store is gone")
	}})
	if _, err := a.exec(context.Background(), req); err == nil || !strings.Contains(err.Error(), "could not be asked: the pending store is gone") {
		t.Errorf("exec with a failing ask = %v", err)
	}
}

package asknotify

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/rs/zerolog"
)

// newEnv returns the env of session "lead" in a state directory with a
// short path (a broker socket must fit in 108 bytes).
func newEnv(t *testing.T) ext.Env {
	t.Helper()
	st, err := statedir.Open(shortDir(t))
	if err != nil {
		t.Fatal(err)
	}
	return ext.Env{State: st, Session: "lead", BridgeSocket: st.BridgeSocket()}
}

func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ce-notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func types(t *testing.T, env ext.Env) []string {
	t.Helper()
	var out []string
	if err := EventLog(env).Read(0, func(e eventlog.Event) error {
		out = append(out, e.Type)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWaitWokenByAnswered(t *testing.T) {
	env := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ln, err := bridge.Listen(env.BridgeSocket)
	if err != nil {
		t.Fatal(err)
	}
	go bridge.NewServer(zerolog.Nop()).Serve(ctx, ln)

	ps := pending.Open(env.State)
	req, err := ps.Create(ctx, pending.Request{Kind: pending.KindAskUser, Session: "lead", Question: "ok?", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	Announce(ctx, env, req)
	done := make(chan pending.Request, 1)
	go func() {
		r, err := Wait(ctx, env, ps, req.ID)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	r, err := ps.Resolve(ctx, req.ID, "yes", "user:tester")
	if err != nil {
		t.Fatal(err)
	}
	Answered(ctx, env, r)
	select {
	case got := <-done:
		if got.State != pending.StateAnswered || got.Answer != "yes" {
			t.Fatalf("Wait = %+v", got)
		}
	case <-ctx.Done():
		t.Fatal("Wait did not return")
	}
	if got := types(t, env); len(got) != 2 || got[0] != TopicCreated || got[1] != TopicAnswered {
		t.Fatalf("events = %v", got)
	}
}

func TestWithdraw(t *testing.T) {
	env := newEnv(t)
	env.BridgeSocket = ""
	ps := pending.Open(env.State)
	req, err := ps.Create(t.Context(), pending.Request{Kind: pending.KindAskUser, Session: "lead", Question: "ok?", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	Withdraw(env, ps, req.ID, "the call ended")
	r, err := ps.Get(t.Context(), req.ID)
	if err != nil || r.State != pending.StateCancelled {
		t.Fatalf("request = %+v, %v", r, err)
	}
	if got := types(t, env); len(got) != 1 || got[0] != TopicClosed {
		t.Fatalf("events = %v", got)
	}
	// A second withdrawal finds the request closed and records nothing.
	Withdraw(env, ps, req.ID, "again")
	if got := types(t, env); len(got) != 1 {
		t.Fatalf("events after a second withdrawal = %v", got)
	}
}

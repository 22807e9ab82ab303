package asknotify

import (
	"context"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

func TestWaitWokenByAnswered(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	exttest.StartBroker(ctx, t, env)

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
	if got := statetest.Types(t, env.State); len(got) != 2 || got[0] != TopicCreated || got[1] != TopicAnswered {
		t.Fatalf("events = %v", got)
	}
}

func TestWithdraw(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
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
	if got := statetest.Types(t, env.State); len(got) != 1 || got[0] != TopicClosed {
		t.Fatalf("events = %v", got)
	}
	// A second withdrawal finds the request closed and records nothing.
	Withdraw(env, ps, req.ID, "again")
	if got := statetest.Types(t, env.State); len(got) != 1 {
		t.Fatalf("events after a second withdrawal = %v", got)
	}
}

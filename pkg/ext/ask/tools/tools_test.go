package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/ask"
	"github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

func call(ctx context.Context, t *testing.T, env ext.Env, args map[string]any) ext.Result {
	t.Helper()
	return exttest.Call(ctx, t, env, ask.Name, ask.ToolAskUser, args)
}

// answerWhenAsked answers the first open question with answer, from
// another goroutine, the way ce-session answer does.
func answerWhenAsked(t *testing.T, env ext.Env, answer string) <-chan pending.Request {
	done := make(chan pending.Request, 1)
	go func() {
		ps := pending.Open(env.State)
		for range 200 {
			open, _ := ps.List(context.Background(), pending.Filter{State: pending.StateOpen})
			if len(open) > 0 {
				r, err := ps.Resolve(context.Background(), open[0].ID, answer, "user:tester")
				if err != nil {
					t.Error(err)
				}
				asknotify.Answered(context.Background(), env, r)
				done <- r
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Error("no question was asked")
		close(done)
	}()
	return done
}

// The schema's bound on choices is the pending store's.
func TestMaxChoices(t *testing.T) {
	if ask.MaxChoices != pending.MaxChoices {
		t.Fatalf("ask.MaxChoices = %d, pending.MaxChoices = %d", ask.MaxChoices, pending.MaxChoices)
	}
}

func TestAskUserAnsweredWithoutBroker(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	answered := answerWhenAsked(t, env, "2")
	start := time.Now()
	res := call(context.Background(), t, env, map[string]any{
		"question": "Deploy where?",
		"choices":  []any{"prod", "staging"},
	})
	r := <-answered
	if res.IsError || res.Text != "The user answered: staging" {
		t.Fatalf("result = %+v", res)
	}
	t.Logf("answered in %s", time.Since(start))
	if r.Session != "lead" || r.Kind != pending.KindAskUser || r.Question != "Deploy where?" || r.Timeout() != ask.DefaultTimeout {
		t.Fatalf("request = %+v", r)
	}
	evs := statetest.Events(t, env.State)
	if len(evs) != 2 || evs[0].Type != asknotify.TopicCreated || evs[1].Type != asknotify.TopicAnswered || evs[1].Data["answer"] != "staging" || evs[0].Session != "lead" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestAskUserWithBroker(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exttest.StartBroker(ctx, t, env)
	sub := bridge.Dial(env.BridgeSocket)
	defer sub.Close()
	events, err := sub.Subscribe(ctx, "ask.*")
	if err != nil {
		t.Fatal(err)
	}
	// The user answers when ask.created arrives.
	go func() {
		for ev := range events {
			if ev.Topic != asknotify.TopicCreated {
				continue
			}
			var r pending.Request
			json.Unmarshal(ev.Data, &r)
			got, err := pending.Open(env.State).Resolve(ctx, r.ID, "yes", "user:tester")
			if err != nil {
				t.Error(err)
				return
			}
			asknotify.Answered(ctx, env, got)
		}
	}()
	res := call(ctx, t, env, map[string]any{"question": "Go on?", "timeout": 60.0})
	if res.IsError || res.Text != "The user answered: yes" {
		t.Fatalf("result = %+v", res)
	}
}

func TestAskUserExpires(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	start := time.Now()
	res := call(context.Background(), t, env, map[string]any{"question": "Anyone there?", "timeout": "300ms"})
	if res.IsError || !strings.HasPrefix(res.Text, "no answer within 300ms (question a1 expired)") {
		t.Fatalf("result = %+v", res)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	r, _ := pending.Open(env.State).Get(context.Background(), "a1")
	if r.State != pending.StateExpired {
		t.Fatalf("request = %+v", r)
	}
	evs := statetest.Events(t, env.State)
	if len(evs) != 2 || evs[1].Type != asknotify.TopicClosed || evs[1].Data["state"] != "expired" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestAskUserCancelledWithdraws(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res := call(ctx, t, env, map[string]any{"question": "Still there?"})
	if !res.IsError || !strings.Contains(res.Text, "stopped waiting for the answer to question a1") {
		t.Fatalf("result = %+v", res)
	}
	r, _ := pending.Open(env.State).Get(context.Background(), "a1")
	if r.State != pending.StateCancelled {
		t.Fatalf("request = %+v", r)
	}
}

func TestAskUserBadArguments(t *testing.T) {
	env := exttest.BrokerEnv(t, "lead")
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, `argument "question" is required`},
		{map[string]any{"question": "q", "choices": []any{"a", 2.0}}, "item 2 is not a string"},
		{map[string]any{"question": "q", "choices": []any{"a", " "}}, "choice 2 is empty"},
		{map[string]any{"question": "q", "timeout": 90000.0}, "at most 24h0m0s"},
		{map[string]any{"question": "q", "timeout": 0.0}, "must be positive"},
		{map[string]any{"question": "q", "timeout": "soon"}, `argument "timeout"`},
	} {
		res := call(context.Background(), t, env, tc.args)
		if !res.IsError || !strings.Contains(res.Text, tc.want) {
			t.Errorf("%v: %+v, want %q", tc.args, res, tc.want)
		}
	}
	// choices as a JSON string are accepted
	if got, err := ext.StringList(`["a","b"]`, "choices"); err != nil || len(got) != 2 {
		t.Fatalf("StringList = %v, %v", got, err)
	}
}

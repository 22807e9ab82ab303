package sessioncmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	ask "github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/rs/zerolog"
)

// pendingState is a state directory with a short path (for a broker
// socket) and an empty config directory.
func pendingState(t *testing.T) *statedir.Dir {
	t.Helper()
	dir, err := os.MkdirTemp("", "ce-pend")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	st, err := statedir.Open(dir + "/state")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CE_STATE_DIR", st.Root)
	t.Setenv("CE_CONFIG", "")
	t.Setenv("CE_BRIDGE_SOCKET", "")
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("USER", "tester")
	return st
}

// run runs ce-session with args and returns its exit status and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := App().Run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPendingAndAnswer(t *testing.T) {
	ctx := context.Background()
	st := pendingState(t)
	ps := pending.Open(st)

	code, out, errs := run(t, "pending")
	if code != 0 || out != "" || !strings.Contains(errs, "no open questions") {
		t.Fatalf("empty pending: %d %q %q", code, out, errs)
	}

	deploy, err := ps.Create(ctx, pending.Request{Kind: pending.KindAskUser, Session: "lead", Question: "Deploy\nwhere?", Choices: []string{"prod", "staging"}})
	if err != nil {
		t.Fatal(err)
	}
	review, err := ps.Create(ctx, pending.Request{Kind: pending.KindSessionAsk, Session: "lead", Target: "rev", Question: "Is the diff ok?", Expires: time.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs = run(t, "pending")
	if code != 0 {
		t.Fatalf("pending: %d %s", code, errs)
	}
	for _, re := range []string{
		`(?m)^ID +SESSION +KIND +TO +AGE +EXPIRES +QUESTION$`,
		`(?m)^a1 +lead +ask_user +user +\d+s ago +in 9m +Deploy where\? \[1\) "prod", 2\) "staging"\]$`,
		`(?m)^a2 +lead +session_ask +rev +\d+s ago +in 1h59m +Is the diff ok\?$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("pending output does not match %s:\n%s", re, out)
		}
	}
	if !strings.Contains(errs, "answer with: ce-session answer ID TEXT") {
		t.Errorf("no hint on stderr: %q", errs)
	}

	code, out, _ = run(t, "pending", "--json", "--session", "rev")
	var r pending.Request
	if code != 0 || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &r) != nil || r.ID != review.ID || r.Target != "rev" {
		t.Fatalf("pending --json --session rev: %d %s", code, out)
	}

	// The asker waits; the answer wakes it.
	woke := make(chan pending.Request, 1)
	go func() {
		r, _ := ps.Wait(ctx, deploy.ID, nil)
		woke <- r
	}()
	code, out, errs = run(t, "answer", "a1", "2")
	if code != 0 || out != "answered a1 (ask_user from lead) with choice 2: staging\n" {
		t.Fatalf("answer a1 2: %d %q %q", code, out, errs)
	}
	select {
	case r := <-woke:
		if r.Answer != "staging" || r.AnsweredBy != "user:tester" {
			t.Fatalf("the waiter got %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter was not woken")
	}
	b, _ := os.ReadFile(st.Path("events.jsonl"))
	if !strings.Contains(string(b), `"type":"ask.answered"`) || !strings.Contains(string(b), `"answer":"staging"`) {
		t.Fatalf("event log:\n%s", b)
	}

	code, _, errs = run(t, "answer", "a1", "prod")
	if code != 1 || !strings.Contains(errs, "ce-session: error: request a1 was already answered by user:tester") || !strings.Contains(errs, "hint: ce-session pending lists the open questions") {
		t.Fatalf("answer twice: %d %q", code, errs)
	}
	code, out, _ = run(t, "answer", "2", "Looks", "fine", "to", "me")
	if code != 0 || out != "answered a2 (session_ask from lead): Looks fine to me\n" {
		t.Fatalf("answer 2 ...: %d %q", code, out)
	}

	code, out, _ = run(t, "pending")
	if code != 0 || out != "" {
		t.Fatalf("pending after the answers: %q", out)
	}
	code, out, _ = run(t, "pending", "--all")
	if code != 0 || !regexp.MustCompile(`(?m)^a1 .* answered +Deploy where\?`).MatchString(out) || !strings.Contains(out, "STATE") {
		t.Fatalf("pending --all: %d\n%s", code, out)
	}
}

func TestAnswerErrors(t *testing.T) {
	ctx := context.Background()
	st := pendingState(t)
	if _, err := pending.Open(st).Create(ctx, pending.Request{Kind: pending.KindAskUser, Question: "Color?", Choices: []string{"red", "green"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"answer", "a1", "3"}, 2, `error: request a1 has no choice 3; its choices are 1) "red", 2) "green"`},
		{[]string{"answer", "a7", "yes"}, 1, "error: no question a7"},
		{[]string{"answer", "x1", "yes"}, 2, `error: "x1" is not a request ID`},
		{[]string{"answer", "a1", " "}, 2, "error: the answer is empty"},
		{[]string{"answer", "a1"}, 2, "error: expected \"<text> ...\""},
	} {
		code, out, errs := run(t, tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: %d %q %q; want %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
}

// TestAnswerPublishes: with a broker running, answer publishes
// ask.answered, which wakes waiters at once.
func TestAnswerPublishes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := pendingState(t)
	ln, err := bridge.Listen(st.BridgeSocket())
	if err != nil {
		t.Fatal(err)
	}
	go bridge.NewServer(zerolog.Nop()).Serve(ctx, ln)
	c := bridge.Dial(st.BridgeSocket())
	defer c.Close()
	events, err := c.Subscribe(ctx, ask.TopicAnswered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pending.Open(st).Create(ctx, pending.Request{Kind: pending.KindAskUser, Session: "lead", Question: "ok?"}); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "answer", "a1", "yes"); code != 0 {
		t.Fatalf("answer: %d %s", code, errs)
	}
	select {
	case ev := <-events:
		var r pending.Request
		if json.Unmarshal(ev.Data, &r) != nil || r.ID != "a1" || r.Answer != "yes" || r.State != pending.StateAnswered {
			t.Fatalf("event %s %s", ev.Topic, ev.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ask.answered event")
	}
}

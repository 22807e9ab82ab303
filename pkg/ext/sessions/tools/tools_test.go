package tools

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	extsessions "github.com/ce-platform/ce/pkg/ext/sessions"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

// newState returns a state directory with sessions lead, rev and third.
func newState(t *testing.T) *statedir.Dir {
	t.Helper()
	st := statetest.Short(t)
	for _, n := range []string{"lead", "rev", "third"} {
		if _, err := session.Open(st).Create(context.Background(), session.Record{Name: n, User: "tester"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func call(ctx context.Context, t *testing.T, st *statedir.Dir, as, tool string, args map[string]any) ext.Result {
	t.Helper()
	env := ext.Env{State: st, Session: as, BridgeSocket: st.BridgeSocket()}
	return exttest.Call(ctx, t, env, extsessions.Name, tool, args)
}

var askIDRE = regexp.MustCompile(`ask_id "(a\d+)"`)

// queued waits for the first queued item of a session.
func queued(t *testing.T, st *statedir.Dir, sess string) queue.Item {
	t.Helper()
	for range 300 {
		items, _ := queue.Open(st).List(context.Background(), queue.Filter{Session: sess, State: queue.Queued})
		if len(items) > 0 {
			return items[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing was queued for %s", sess)
	return queue.Item{}
}

// askAsync runs session_ask in a goroutine.
func askAsync(t *testing.T, st *statedir.Dir, as string, args map[string]any) <-chan ext.Result {
	ch := make(chan ext.Result, 1)
	go func() { ch <- call(context.Background(), t, st, as, "session_ask", args) }()
	return ch
}

// statusAsked is a state directory in which lead asks rev "Status?", in
// the background, and the item that question queued for rev.
func statusAsked(t *testing.T) (*statedir.Dir, <-chan ext.Result, queue.Item) {
	t.Helper()
	st := newState(t)
	done := askAsync(t, st, "lead", map[string]any{"target": "rev", "question": "Status?"})
	return st, done, queued(t, st, "rev")
}

func result(t *testing.T, ch <-chan ext.Result) ext.Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("session_ask did not return")
	}
	return ext.Result{}
}

func TestAskAndReply(t *testing.T) {
	ctx := context.Background()
	st := newState(t)
	start := time.Now()
	done := askAsync(t, st, "lead", map[string]any{"target": "rev", "question": "Is the diff in main.go safe?"})

	it := queued(t, st, "rev")
	m := askIDRE.FindStringSubmatch(it.Prompt)
	if m == nil || !strings.Contains(it.Prompt, "Is the diff in main.go safe?") || !strings.Contains(it.Prompt, "session_reply") || it.Source != "session:lead" {
		t.Fatalf("queued prompt (source %s):\n%s", it.Source, it.Prompt)
	}
	t.Logf("prompt queued for rev:\n%s", it.Prompt)
	id := m[1]
	// The request names its item once the item is queued.
	var r pending.Request
	for deadline := time.Now().Add(5 * time.Second); r.Item == "" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		r, _ = pending.Open(st).Get(ctx, id)
	}
	if r.Item != it.ID || r.Session != "lead" || r.Target != "rev" || r.Timeout() != extsessions.DefaultTimeout {
		t.Fatalf("request = %+v", r)
	}

	inbox := call(ctx, t, st, "rev", "session_inbox", nil)
	var box struct {
		Questions []inboxEntry `json:"questions"`
	}
	if err := json.Unmarshal([]byte(inbox.Text), &box); err != nil || len(box.Questions) != 1 || box.Questions[0].AskID != id || box.Questions[0].From != "lead" {
		t.Fatalf("rev's inbox = %+v", inbox)
	}
	if res := call(ctx, t, st, "lead", "session_inbox", nil); res.Text != "No open questions for session lead." {
		t.Fatalf("lead's inbox = %+v", res)
	}

	// Only rev may reply.
	res := call(ctx, t, st, "third", "session_reply", map[string]any{"ask_id": id, "answer": "sure"})
	if !res.IsError || !strings.Contains(res.Text, "was asked of session rev, not of you (third); only rev can reply") {
		t.Fatalf("reply by third = %+v", res)
	}
	replied := time.Now()
	res = call(ctx, t, st, "rev", "session_reply", map[string]any{"ask_id": id, "answer": "Yes, it only renames a variable."})
	if res.IsError || res.Text != "Reply to "+id+" delivered to session lead." {
		t.Fatalf("reply = %+v", res)
	}
	got := result(t, done)
	t.Logf("asked to answered %s; reply to return %s", time.Since(start), time.Since(replied))
	if got.IsError || got.Text != "Session rev replied ("+id+"):\nYes, it only renames a variable." {
		t.Fatalf("session_ask = %+v", got)
	}
	res = call(ctx, t, st, "rev", "session_reply", map[string]any{"ask_id": id, "answer": "again"})
	if !res.IsError || !strings.Contains(res.Text, "not delivered: request "+id+" was already answered") {
		t.Fatalf("second reply = %+v", res)
	}
}

func TestAskRefusals(t *testing.T) {
	ctx := context.Background()
	st := newState(t)
	for _, tc := range []struct {
		as   string
		args map[string]any
		want string
	}{
		{"lead", map[string]any{"target": "lead", "question": "q"}, "you cannot ask yourself: you are session lead"},
		{"lead", map[string]any{"target": "nosuch", "question": "q"}, `no session "nosuch"; the other sessions are: rev, third`},
		{"lead", map[string]any{"target": "a b", "question": "q"}, "may only contain letters"},
		{"lead", map[string]any{"target": "rev"}, `argument "question" is required`},
		{"", map[string]any{"target": "rev", "question": "q"}, "works only inside a ce session"},
		{"lead", map[string]any{"target": "rev", "question": "q", "timeout": 1e6}, "at most 24h0m0s"},
	} {
		res := call(ctx, t, st, tc.as, "session_ask", tc.args)
		if !res.IsError || !strings.Contains(res.Text, tc.want) {
			t.Errorf("%s asks %v: %+v, want %q", tc.as, tc.args, res, tc.want)
		}
	}
	if items, _ := queue.Open(st).List(ctx, queue.Filter{}); len(items) != 0 {
		t.Fatalf("refused questions were queued: %+v", items)
	}
}

func TestCycleRefused(t *testing.T) {
	ctx := context.Background()
	st := newState(t)
	leadWaits := askAsync(t, st, "lead", map[string]any{"target": "rev", "question": "Review my branch?"})
	first := askIDRE.FindStringSubmatch(queued(t, st, "rev").Prompt)[1]

	// rev, running lead's question, asks lead back: refused at once.
	res := call(ctx, t, st, "rev", "session_ask", map[string]any{"target": "lead", "question": "Which branch?"})
	want := "refused: session lead is waiting on session rev (lead asked rev " + first + "), so lead cannot take rev's question before rev answers, and the question could never be answered. Answer the question you were asked first"
	if !res.IsError || !strings.HasPrefix(res.Text, want) {
		t.Fatalf("rev asks lead:\n%s\nwant\n%s", res.Text, want)
	}
	// Through a chain: rev asks third, and third asks lead.
	revWaits := askAsync(t, st, "rev", map[string]any{"target": "third", "question": "Which branch does lead mean?"})
	second := askIDRE.FindStringSubmatch(queued(t, st, "third").Prompt)[1]
	res = call(ctx, t, st, "third", "session_ask", map[string]any{"target": "lead", "question": "Which branch?"})
	if !res.IsError || !strings.Contains(res.Text, "session lead is waiting on session third through lead -> rev -> third ("+first+", "+second+")") {
		t.Fatalf("third asks lead: %+v", res)
	}

	call(ctx, t, st, "third", "session_reply", map[string]any{"ask_id": second, "answer": "feature-x"})
	if r := result(t, revWaits); r.IsError || !strings.HasSuffix(r.Text, "feature-x") {
		t.Fatalf("rev's ask = %+v", r)
	}
	call(ctx, t, st, "rev", "session_reply", map[string]any{"ask_id": first, "answer": "looks good"})
	if r := result(t, leadWaits); r.IsError || !strings.HasSuffix(r.Text, "looks good") {
		t.Fatalf("lead's ask = %+v", r)
	}
}

func TestReplyRefusals(t *testing.T) {
	ctx := context.Background()
	st := newState(t)
	user, err := pending.Open(st).Create(ctx, pending.Request{Kind: pending.KindAskUser, Session: "lead", Question: "ok?"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"ask_id": user.ID, "answer": "x"}, "is an ask_user request to the user, not a question from a session"},
		{map[string]any{"ask_id": "a99", "answer": "x"}, "there is no question a99"},
		{map[string]any{"ask_id": "q3", "answer": "x"}, `"q3" is not an ask ID`},
		{map[string]any{"ask_id": user.ID}, `argument "answer" is required`},
	} {
		res := call(ctx, t, st, "rev", "session_reply", tc.args)
		if !res.IsError || !strings.Contains(res.Text, tc.want) {
			t.Errorf("reply %v: %+v, want %q", tc.args, res, tc.want)
		}
	}
}

func TestAskExpires(t *testing.T) {
	ctx := context.Background()
	st := newState(t)
	res := call(ctx, t, st, "lead", "session_ask", map[string]any{"target": "rev", "question": "Anyone?", "timeout": 0.3})
	if res.IsError || !strings.HasPrefix(res.Text, "no reply within 300ms from session rev (question a1 expired; it was still in rev's queue and has been removed)") {
		t.Fatalf("result = %+v", res)
	}
	items, _ := queue.Open(st).List(ctx, queue.Filter{Session: "rev"})
	if len(items) != 1 || items[0].State != queue.Cancelled {
		t.Fatalf("rev's queue = %+v", items)
	}
	res = call(ctx, t, st, "rev", "session_reply", map[string]any{"ask_id": "a1", "answer": "late"})
	if !res.IsError || !strings.Contains(res.Text, "not delivered: request a1 expired") {
		t.Fatalf("late reply = %+v", res)
	}
}

// TestTurnEndsWithoutReply: the target finished the question's turn without
// calling session_reply; the asker gets its final message at once.
func TestTurnEndsWithoutReply(t *testing.T) {
	ctx := context.Background()
	st, done, it := statusAsked(t)
	q := queue.Open(st)
	if _, _, ok, _, err := q.Claim(ctx, "rev", time.Now()); !ok || err != nil {
		t.Fatal("claim", err)
	}
	if _, err := q.Finish(ctx, it.ID, func(i *queue.Item) { i.State, i.Result = queue.Done, "All green." }); err != nil {
		t.Fatal(err)
	}
	res := result(t, done)
	if res.IsError || res.Text != "Session rev finished its turn on question a1 without calling session_reply; its final message was:\nAll green." {
		t.Fatalf("result = %+v", res)
	}
	r, _ := pending.Open(st).Get(ctx, "a1")
	if r.State != pending.StateAnswered || r.Answer != "All green." {
		t.Fatalf("request = %+v", r)
	}
}

func TestItemCancelled(t *testing.T) {
	ctx := context.Background()
	st, done, it := statusAsked(t)
	if _, err := queue.Open(st).Cancel(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	res := result(t, done)
	if !res.IsError || !strings.Contains(res.Text, "question a1 was cancelled in session rev's queue") {
		t.Fatalf("result = %+v", res)
	}
	if r, _ := pending.Open(st).Get(ctx, "a1"); r.State != pending.StateCancelled {
		t.Fatalf("request = %+v", r)
	}
}

func TestCallCancelledWithdraws(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	st := newState(t)
	res := call(ctx, t, st, "lead", "session_ask", map[string]any{"target": "rev", "question": "Status?"})
	if !res.IsError || !strings.Contains(res.Text, "stopped waiting for session rev's reply to a1") {
		t.Fatalf("result = %+v", res)
	}
	bg := context.Background()
	if r, _ := pending.Open(st).Get(bg, "a1"); r.State != pending.StateCancelled {
		t.Fatalf("request = %+v", r)
	}
	if items, _ := queue.Open(st).List(bg, queue.Filter{Session: "rev"}); len(items) != 1 || items[0].State != queue.Cancelled {
		t.Fatalf("rev's queue = %+v", items)
	}
}

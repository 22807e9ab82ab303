package pending

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
)

func newStore(t *testing.T) (*Store, *statedir.Dir) {
	t.Helper()
	d, err := statedir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Open(d), d
}

func ask(t *testing.T, s *Store, r Request) Request {
	t.Helper()
	if r.Kind == "" {
		r.Kind = KindAskUser
	}
	if r.Question == "" {
		r.Question = "go on?"
	}
	got, err := s.Create(context.Background(), r)
	if err != nil {
		t.Fatalf("create %+v: %v", r, err)
	}
	return got
}

func TestCreateGetList(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	a := ask(t, s, Request{Session: "lead", Question: "deploy?", Choices: []string{"yes", "no"}})
	b := ask(t, s, Request{Kind: KindSessionAsk, Session: "lead", Target: "rev", Question: "diff ok?", Expires: time.Now().Add(time.Hour)})
	if a.ID != "a1" || b.ID != "a2" {
		t.Fatalf("ids = %s, %s", a.ID, b.ID)
	}
	if a.State != StateOpen || a.Created.IsZero() || a.Timeout() != DefaultTimeout {
		t.Fatalf("a = %+v (timeout %s)", a, a.Timeout())
	}
	got, err := s.Get(ctx, "a1")
	if err != nil || !reflect.DeepEqual(got.Choices, []string{"yes", "no"}) || got.Question != "deploy?" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, "a9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get a9: %v", err)
	}
	for _, tc := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"a1", "a2"}},
		{Filter{Target: "rev"}, []string{"a2"}},
		{Filter{Kind: KindAskUser}, []string{"a1"}},
		{Filter{Session: "lead", State: StateOpen}, []string{"a1", "a2"}},
		{Filter{State: StateAnswered}, nil},
	} {
		list, err := s.List(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("list %+v = %v, want %v", tc.f, ids, tc.want)
		}
	}
	fi, err := os.Stat(d.Path("pending.db"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pending.db: %v %v", fi, err)
	}
}

func TestCreateRefusesBadRequests(t *testing.T) {
	s, _ := newStore(t)
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{Kind: "nope", Question: "x"}, "unknown request kind"},
		{Request{Kind: KindAskUser, Question: "  "}, "question is empty"},
		{Request{Kind: KindAskUser, Question: "x", Choices: []string{"a", ""}}, "choice 2 is empty"},
		{Request{Kind: KindAskUser, Question: "x", Choices: make([]string, 11)}, "at most 10"},
		{Request{Kind: KindSessionAsk, Session: "a", Target: "a", Question: "x"}, "cannot ask itself"},
		{Request{Kind: KindSessionAsk, Session: "a", Question: "x"}, "needs the asking session and a target"},
		{Request{Kind: KindAskUser, Question: "x", Expires: time.Now().Add(-time.Second)}, "expire at once"},
	} {
		if _, err := s.Create(context.Background(), tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %+v: %v, want %q", tc.r, err, tc.want)
		}
	}
}

func TestConcurrentCreatesGetDistinctIDs(t *testing.T) {
	s, _ := newStore(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ask(t, s, Request{})
			mu.Lock()
			seen[r.ID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("%d distinct ids of 20", len(seen))
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	r := ask(t, s, Request{Session: "lead"})
	if _, err := s.Resolve(ctx, r.ID, "  ", "user:me"); err == nil || !strings.Contains(err.Error(), "answer is empty") {
		t.Fatalf("empty answer: %v", err)
	}
	got, err := s.Resolve(ctx, r.ID, " ship it \n", "user:me")
	if err != nil || got.State != StateAnswered || got.Answer != "ship it" || got.AnsweredBy != "user:me" || got.Answered.IsZero() {
		t.Fatalf("resolve = %+v, %v", got, err)
	}
	_, err = s.Resolve(ctx, r.ID, "again", "user:you")
	var ce *ClosedError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `already answered by user:me`) || !strings.Contains(err.Error(), `"ship it"`) {
		t.Fatalf("second resolve: %v", err)
	}
	if _, err := s.Resolve(ctx, "a7", "x", "user:me"); !errors.Is(err, ErrNotFound) || err.Error() != "no such pending request a7" {
		t.Fatalf("resolve unknown: %v", err)
	}
	c := ask(t, s, Request{})
	if got, err := s.Cancel(ctx, c.ID, "the tool call ended"); err != nil || got.State != StateCancelled {
		t.Fatalf("cancel = %+v, %v", got, err)
	}
	if _, err := s.Resolve(ctx, c.ID, "late", "user:me"); err == nil || !strings.Contains(err.Error(), "withdrawn: the tool call ended") {
		t.Fatalf("resolve cancelled: %v", err)
	}
}

func TestResolveChoices(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for _, tc := range []struct {
		answer, want, err string
	}{
		{"2", "staging", ""},
		{"prod", "prod", ""},
		{"STAGING", "staging", ""},
		{"neither, wait", "neither, wait", ""},
		{"4", "", `request a5 has no choice 4; its choices are 1) "prod", 2) "staging", 3) "5"`},
		{"0", "", "no choice 0"},
		{"5", "5", ""}, // a choice's own text wins over its number
	} {
		r := ask(t, s, Request{Choices: []string{"prod", "staging", "5"}})
		got, err := s.Resolve(ctx, r.ID, tc.answer, "user:me")
		if tc.err != "" {
			var ce *ChoiceError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("answer %q: %v, want %q", tc.answer, err, tc.err)
			}
			if again, _ := s.Get(ctx, r.ID); again.State != StateOpen {
				t.Errorf("a refused answer changed the request: %+v", again)
			}
			continue
		}
		if err != nil || got.Answer != tc.want {
			t.Errorf("answer %q = %q, %v; want %q", tc.answer, got.Answer, err, tc.want)
		}
	}
}

func TestExpiryIsComputedOnRead(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	r := ask(t, s, Request{Expires: time.Now().Add(150 * time.Millisecond)})
	start := time.Now()
	got, err := s.Wait(ctx, r.ID, nil)
	if err != nil || got.State != StateExpired {
		t.Fatalf("wait = %+v, %v", got, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > time.Second {
		t.Fatalf("wait for expiry took %s", d)
	}
	if got, _ := s.Get(ctx, r.ID); got.State != StateExpired {
		t.Fatalf("get after expiry: %+v", got)
	}
	if list, _ := s.List(ctx, Filter{State: StateOpen}); len(list) != 0 {
		t.Fatalf("open after expiry: %+v", list)
	}
	_, err = s.Resolve(ctx, r.ID, "too late", "user:me")
	var ce *ClosedError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("resolve expired: %v", err)
	}
}

func TestWaitWokenByWriteFromGoroutine(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.Poll = time.Minute // only the file watch can wake it in time
	r := ask(t, s, Request{})
	var resolved time.Time
	go func() {
		time.Sleep(100 * time.Millisecond)
		resolved = time.Now()
		if _, err := s.Resolve(ctx, r.ID, "yes", "user:me"); err != nil {
			t.Error(err)
		}
	}()
	got, err := s.Wait(ctx, r.ID, nil)
	if err != nil || got.State != StateAnswered || got.Answer != "yes" {
		t.Fatalf("wait = %+v, %v", got, err)
	}
	lat := time.Since(resolved)
	t.Logf("woken %s after the resolve started", lat)
	if lat > time.Second {
		t.Fatalf("woken %s after the resolve", lat)
	}
}

func TestWaitWokenByChannel(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.Poll = time.Minute
	var mu sync.Mutex
	now := time.Now()
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := ask(t, s, Request{Expires: now.Add(time.Hour)})
	wake := make(chan struct{}, 1)
	done := make(chan Request, 1)
	go func() {
		got, err := s.Wait(ctx, r.ID, wake)
		if err != nil {
			t.Error(err)
		}
		done <- got
	}()
	time.Sleep(50 * time.Millisecond)
	// Nothing is written: only the wake makes Wait look at the (moved) clock.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	wake <- struct{}{}
	select {
	case got := <-done:
		if got.State != StateExpired {
			t.Fatalf("wait = %+v", got)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a wake did not make Wait re-read")
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	r2 := ask(t, s, Request{Expires: now.Add(time.Hour)})
	if got, err := s.Wait(cctx, r2.ID, nil); !errors.Is(err, context.DeadlineExceeded) || got.State != StateOpen {
		t.Fatalf("wait past ctx = %+v, %v", got, err)
	}
}

// TestWaitWokenByOtherProcess resolves from a child process (this test
// binary re-executed) and measures how soon the waiter sees it.
func TestWaitWokenByOtherProcess(t *testing.T) {
	if os.Getenv("PENDING_TEST_RESOLVE") != "" {
		return
	}
	ctx := context.Background()
	s, d := newStore(t)
	s.Poll = time.Minute
	r := ask(t, s, Request{Choices: []string{"red", "green"}})
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PENDING_TEST_RESOLVE="+d.Root+"|"+r.ID+"|2")
	type res struct {
		r   Request
		err error
		at  time.Time
	}
	done := make(chan res, 1)
	go func() {
		got, err := s.Wait(ctx, r.ID, nil)
		done <- res{got, err, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, _ := strings.Cut(string(out), "resolved-at ")
	ns, _ := strconv.ParseInt(strings.Fields(after + " 0")[0], 10, 64)
	select {
	case got := <-done:
		if got.err != nil || got.r.Answer != "green" || got.r.AnsweredBy != "user:child" {
			t.Fatalf("wait = %+v, %v", got.r, got.err)
		}
		lat := got.at.Sub(time.Unix(0, ns))
		t.Logf("the waiter saw the answer %s after the other process wrote it", lat)
		if lat > time.Second {
			t.Fatalf("the waiter saw the answer %s after it was written", lat)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the waiter did not see the other process's answer within 2s")
	}
}

// TestMain lets the test binary answer a request from another process,
// for TestWaitWokenByOtherProcess (PENDING_TEST_RESOLVE set).
func TestMain(m *testing.M) {
	if v := os.Getenv("PENDING_TEST_RESOLVE"); v != "" {
		parts := strings.Split(v, "|")
		d, err := statedir.Open(parts[0])
		if err == nil {
			_, err = Open(d).Resolve(context.Background(), parts[1], parts[2], "user:child")
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("resolved-at %d\n", time.Now().UnixNano())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRecordsExpireAfterRetention(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	s.Retention = time.Second
	answered := ask(t, s, Request{Expires: time.Now().Add(500 * time.Millisecond)})
	open := ask(t, s, Request{Expires: time.Now().Add(time.Hour)})
	if _, err := s.Resolve(ctx, answered.ID, "ok", "user:me"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, answered.ID); err != nil || got.State != StateAnswered {
		t.Fatalf("answered request: %+v, %v", got, err)
	}
	// Kept until 1.5 s (+1 s for the rewrite) after its creation; buntdb
	// keeps whole seconds and may expire up to 1 s early. Wait for it to go,
	// with a bound.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, err := s.Get(ctx, answered.ID)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answered request still there 5 s after its retention: %v", err)
		}
	}
	if got, err := s.Get(ctx, open.ID); err != nil || got.State != StateOpen {
		t.Fatalf("open request: %+v, %v", got, err)
	}
	// IDs keep counting up, so an old ID never names a new request.
	if r := ask(t, s, Request{}); r.ID != "a3" {
		t.Fatalf("next id = %s", r.ID)
	}
}

func TestCycleRefused(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	sa := func(from, to string) (Request, error) {
		return s.Create(ctx, Request{Kind: KindSessionAsk, Session: from, Target: to, Question: from + " asks " + to})
	}
	ab, err := sa("A", "B")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sa("B", "A")
	var ce *CycleError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Chain, []string{"A", "B"}) || ce.IDs[0] != ab.ID {
		t.Fatalf("B asks A: %v (%+v)", err, ce)
	}
	want := "session A is waiting on session B (A asked B a1), so A cannot take B's question before B answers, and the question could never be answered"
	if err.Error() != want {
		t.Fatalf("message:\n%s\nwant\n%s", err, want)
	}
	// Through a chain: A -> B -> C, then C asks A.
	if _, err := sa("B", "C"); err != nil {
		t.Fatal(err)
	}
	_, err = sa("C", "A")
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Chain, []string{"A", "B", "C"}) || !strings.Contains(err.Error(), "through A -> B -> C (a1, a2)") {
		t.Fatalf("C asks A: %v", err)
	}
	// Not a cycle: C asks D, and A asks C as well.
	if _, err := sa("C", "D"); err != nil {
		t.Fatal(err)
	}
	if _, err := sa("A", "C"); err != nil {
		t.Fatal(err)
	}
	// Once A's question to B is answered, B may ask A; C still may not
	// (A also waits on C directly).
	if _, err := s.Resolve(ctx, ab.ID, "done", "session:B"); err != nil {
		t.Fatal(err)
	}
	if _, err := sa("B", "A"); err != nil {
		t.Fatalf("B asks A after the answer: %v", err)
	}
	if _, err := sa("C", "A"); !errors.As(err, &ce) {
		t.Fatalf("C asks A while A waits on C: %v", err)
	}
}

func TestParseID(t *testing.T) {
	for in, want := range map[string]string{"a12": "a12", "A3": "a3", "7": "a7", " a4 ": "a4"} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "a", "a0", "q12", "x"} {
		if _, err := ParseID(in); err == nil {
			t.Errorf("ParseID(%q) succeeded", in)
		}
	}
}

package queue

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
)

func newQueue(t *testing.T) *Queue {
	t.Helper()
	d, err := statedir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return Open(d)
}

func TestClaimOrderAndOneRunningPerSession(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	a1, _ := q.Push(ctx, "a", "one", "test")
	a2, _ := q.Push(ctx, "a", "two", "test")
	b1, _ := q.Push(ctx, "b", "three", "test")
	now := time.Now()

	it, recovered, ok, _, err := q.Claim(ctx, "a", now)
	if err != nil || !ok || recovered || it.ID != a1.ID || it.State != Running || it.Run != a1.ID+"-1" {
		t.Fatalf("first claim = %+v %v %v %v", it, recovered, ok, err)
	}
	// A second claim while a1 runs returns a1 as left by a dead driver.
	it, recovered, ok, _, _ = q.Claim(ctx, "a", now)
	if !ok || !recovered || it.ID != a1.ID {
		t.Fatalf("claim while running = %+v recovered=%v", it, recovered)
	}
	if _, err := q.Finish(ctx, a1.ID, func(i *Item) { i.State = Done }); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Finish(ctx, a1.ID, func(i *Item) { i.State = Failed }); err == nil {
		t.Fatal("finishing a finished item twice succeeded")
	}
	it, _, ok, _, _ = q.Claim(ctx, "a", now)
	if !ok || it.ID != a2.ID {
		t.Fatalf("next claim = %+v", it)
	}
	it, _, ok, _, _ = q.Claim(ctx, "b", now)
	if !ok || it.ID != b1.ID {
		t.Fatalf("other session claim = %+v", it)
	}
	got, _ := q.Get(ctx, a1.ID)
	if got.State != Done || got.Finished.IsZero() {
		t.Fatalf("a1 = %+v", got)
	}
}

func TestParkHoldsLaterItemsUntilReset(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	a1, _ := q.Push(ctx, "a", "one", "")
	a2, _ := q.Push(ctx, "a", "two", "")
	now := time.Now()
	q.Claim(ctx, "a", now)
	until := now.Add(time.Hour)
	if err := q.Park(ctx, a1.ID, until, "limit"); err != nil {
		t.Fatal(err)
	}
	a3, _ := q.Push(ctx, "a", "three", "")
	if a3.State != Parked {
		t.Fatalf("an item pushed behind parked ones is %s", a3.State)
	}
	if _, _, ok, wake, _ := q.Claim(ctx, "a", now); ok || !wake.Equal(until.UTC()) {
		t.Fatalf("claim during park: ok=%v wake=%v", ok, wake)
	}
	sessions, wake, _ := q.Runnable(ctx, now)
	if len(sessions) != 0 || wake.IsZero() {
		t.Fatalf("runnable during park: %v %v", sessions, wake)
	}
	it, _, ok, _, _ := q.Claim(ctx, "a", until.Add(time.Second))
	if !ok || it.ID != a1.ID || it.Attempts != 2 {
		t.Fatalf("claim after park = %+v", it)
	}
	left, _ := q.List(ctx, Filter{Session: "a", State: Queued})
	if len(left) != 2 || left[0].ID != a2.ID || left[1].ID != a3.ID {
		t.Fatalf("queued after park: %+v", left)
	}
}

func TestRequeueAndRetry(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	a1, _ := q.Push(ctx, "a", "one", "")
	q.Claim(ctx, "a", time.Now())
	it, err := q.Requeue(ctx, a1.ID, false, "")
	if err != nil || it.State != Queued || it.Attempts != 0 {
		t.Fatalf("requeue without counting = %+v %v", it, err)
	}
	q.Claim(ctx, "a", time.Now())
	q.Finish(ctx, a1.ID, func(i *Item) { i.State = Failed })
	if _, err := q.Cancel(ctx, a1.ID); err == nil {
		t.Fatal("cancelled a failed item")
	}
	r, err := q.Retry(ctx, a1.ID)
	if err != nil || r.RetryOf != a1.ID || r.State != Queued || r.Prompt != "one" {
		t.Fatalf("retry = %+v %v", r, err)
	}
}

func TestCheckPrompt(t *testing.T) {
	for _, p := range []string{"", "  \n\t"} {
		if CheckPrompt(p) == nil {
			t.Errorf("CheckPrompt(%q) accepted", p)
		}
	}
	if err := CheckPrompt(strings.Repeat("x", MaxPrompt+1)); err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("oversized prompt: %v", err)
	}
	if err := CheckPrompt(strings.Repeat("x", MaxPrompt)); err != nil {
		t.Errorf("a 1 MiB prompt: %v", err)
	}
	for in, want := range map[string]string{"q12": "q12", "12": "q12"} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"x", "q0", "q-1", ""} {
		if _, err := ParseID(in); err == nil {
			t.Errorf("ParseID(%q) accepted", in)
		}
	}
}

// TestConcurrentPushesFromProcesses pushes from several processes at once:
// every item is kept with a unique ID.
func TestConcurrentPushesFromProcesses(t *testing.T) {
	if dir := os.Getenv("CE_QUEUE_TEST_DIR"); dir != "" {
		d, _ := statedir.Open(dir)
		q := Open(d)
		for i := 0; i < 50; i++ {
			if _, err := q.Push(context.Background(), "p", fmt.Sprint(os.Getpid(), i), ""); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	exe, _ := os.Executable()
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := execCommand(exe, "-test.run=TestConcurrentPushesFromProcesses")
			cmd.Env = append(os.Environ(), "CE_QUEUE_TEST_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child: %v\n%s", err, out)
			}
		}()
	}
	wg.Wait()
	d, _ := statedir.Open(dir)
	items, err := Open(d).List(context.Background(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, it := range items {
		ids[it.ID] = true
	}
	if len(items) != 200 || len(ids) != 200 {
		t.Fatalf("got %d items with %d unique IDs, want 200", len(items), len(ids))
	}
}

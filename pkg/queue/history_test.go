package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run pushes, claims and finishes one prompt of a session.
func run(t *testing.T, q *Queue, sess, prompt string) Item {
	return runAs(t, q, sess, prompt, Done)
}

func runAs(t *testing.T, q *Queue, sess, prompt, state string) Item {
	t.Helper()
	ctx := context.Background()
	if _, err := q.Push(ctx, sess, prompt, "test"); err != nil {
		t.Fatal(err)
	}
	it, _, ok, _, err := q.Claim(ctx, sess, time.Now())
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	it, err = q.Finish(ctx, it.ID, func(i *Item) { i.State, i.Result = state, "answer to "+prompt })
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// Finished items leave queue.db for the history: queue.db keeps its size
// whatever the history, and every item stays readable.
func TestHistoryKeepsTheHotStoreSmall(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	const n = 400
	var size10 int64
	for i := 0; i < n; i++ {
		state := Done
		if i == 1 {
			state = Failed
		}
		runAs(t, q, fmt.Sprintf("s%d", i%3), fmt.Sprintf("prompt %d %s", i, strings.Repeat("x", 500)), state)
		if i == 10*3 {
			fi, _ := os.Stat(q.st.Path)
			size10 = fi.Size()
		}
	}
	live, err := q.List(ctx, Filter{Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) > 3*2*KeepFinished {
		t.Errorf("queue.db holds %d items, want at most %d", len(live), 3*2*KeepFinished)
	}
	all, err := q.List(ctx, Filter{})
	if err != nil || len(all) != n {
		t.Fatalf("List = %d items, %v; want %d", len(all), err, n)
	}
	for i, it := range all {
		if want := fmt.Sprintf("q%d", i+1); it.ID != want || (it.State != Done) != (i == 1) {
			t.Fatalf("item %d = %s %s, want %s done", i, it.ID, it.State, want)
		}
	}
	if it, err := q.Get(ctx, "q1"); err != nil || !strings.HasPrefix(it.Prompt, "prompt 0 ") || it.Retired.IsZero() {
		t.Fatalf("Get q1 from the history = %+v, %v", it, err)
	}
	if _, err := q.Get(ctx, "q99999"); err != ErrNotFound {
		t.Fatalf("Get of no item: %v", err)
	}
	last, _ := q.List(ctx, Filter{Session: "s1", Limit: 5})
	if len(last) != 5 || last[4].ID != all[n-3].ID {
		t.Fatalf("last 5 of s1 = %v", ids(last))
	}
	fi, _ := os.Stat(q.st.Path)
	if fi.Size() > 4*size10+compactLimit() {
		t.Errorf("queue.db grew from %d to %d bytes with the history", size10, fi.Size())
	}
	// A retry of a retired item works from the history.
	if it, err := q.Retry(ctx, "q2"); err != nil || it.RetryOf != "q2" || it.State != Queued {
		t.Fatalf("retry of a retired item = %+v, %v", it, err)
	}
}

func compactLimit() int64 { return 1 << 20 }

func ids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// Since stops at the retirements before it, even when a session retires
// items that finished long before others.
func TestHistorySince(t *testing.T) {
	ctx := context.Background()
	q := newQueue(t)
	old := time.Now().Add(-48 * time.Hour)
	// Items of "a" finished two days ago but retired now; items of "b"
	// finish now.
	h := q.hist
	var aged []Item
	for i := 1; i <= 3; i++ {
		aged = append(aged, Item{ID: fmt.Sprintf("q%d", i), Session: "a", State: Done, Finished: old, Retired: time.Now().Add(-time.Minute)})
	}
	if err := h.append(aged, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*KeepFinished; i++ {
		run(t, q, "b", fmt.Sprintf("p%d", i))
	}
	got, err := q.List(ctx, Filter{Since: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range got {
		if it.Session == "a" {
			t.Fatalf("an item finished before Since was listed: %+v", it)
		}
	}
	if len(got) != 2*KeepFinished {
		t.Fatalf("Since listed %d items, want %d", len(got), 2*KeepFinished)
	}
}

// A history line longer than the read chunk, a torn last line and a line
// written twice (a crash between the history and queue.db) read back right.
func TestReadBackwards(t *testing.T) {
	dir := t.TempDir()
	h := history{dir: dir}
	now := time.Now()
	big := strings.Repeat("y", 200<<10)
	items := []Item{{ID: "q1", Prompt: "a", State: Done}, {ID: "q2", Prompt: big, State: Done}, {ID: "q3", Prompt: "c", State: Done}}
	if err := h.append(items, now); err != nil {
		t.Fatal(err)
	}
	if err := h.append(items[2:], now); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, weekFile(now)), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"id":"q4","prom`)
	f.Close()
	var got []string
	if err := h.scan(func(it Item) bool { got = append(got, it.ID); return true }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "q3,q2,q1" {
		t.Fatalf("scan = %v", got)
	}
	var p2 Item
	h.scan(func(it Item) bool {
		if it.ID == "q2" {
			p2 = it
		}
		return true
	})
	if p2.Prompt != big {
		t.Fatalf("the long line came back %d bytes long", len(p2.Prompt))
	}
}

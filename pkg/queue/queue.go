// Package queue provides the durable prompt queue in <state>/queue.db. An
// item moves queued -> running -> done | failed | cancelled; a run refused
// for plan limits parks the item (and the session's later items) until the
// reset time. At most one item per session is running.
//
// queue.db holds live state only: queued, running and parked items and the
// few most recently finished of each session (KeepFinished). Older
// finished items move to an append-only history (<state>/history), kept
// for Retention, which Get and List read from its end: every command opens
// queue.db, so its cost must not grow with the history.
//
// Item IDs ("q" and a number) are stable and may be used by scripts; the
// record layout is internal.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
	"github.com/tidwall/buntdb"
)

// States of an item.
const (
	Queued    = "queued"
	Running   = "running"
	Done      = "done"
	Failed    = "failed"
	Cancelled = "cancelled"
	Parked    = "parked"
)

// DBFile is the queue's store in the state directory (statedir.QueueDB).
const DBFile = "queue.db"

// MaxPrompt is the largest prompt accepted.
const MaxPrompt = 1 << 20

// Retention is how long finished items are kept in the history.
const Retention = 7 * 24 * time.Hour

// KeepFinished is how many finished items of a session queue.db keeps;
// when a session has twice as many, the older half moves to the history.
const KeepFinished = 4

// ErrNotFound means no item has the ID.
var ErrNotFound = errors.New("no such queue item")

// Item is one prompt.
type Item struct {
	ID       string `json:"id"`
	Session  string `json:"session"`
	Prompt   string `json:"prompt"`
	Source   string `json:"source,omitempty"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Runs counts the runs started for the item, those not counted as
	// attempts (a driver died before handing one over) included: each run
	// has a directory of its own, Run.
	Runs        int            `json:"runs,omitempty"`
	Run         string         `json:"run,omitempty"`
	RetryOf     string         `json:"retry_of,omitempty"`
	Created     time.Time      `json:"created"`
	Started     time.Time      `json:"started,omitzero"`
	Finished    time.Time      `json:"finished,omitzero"`
	ParkedUntil time.Time      `json:"parked_until,omitzero"`
	Result      string         `json:"result,omitempty"`
	IsError     bool           `json:"is_error,omitempty"`
	Error       string         `json:"error,omitempty"`
	CostUSD     float64        `json:"cost_usd,omitempty"`
	DurationMS  int64          `json:"duration_ms,omitempty"`
	Tokens      session.Tokens `json:"tokens"`
	// Retired is when the item moved from queue.db to the history.
	Retired time.Time `json:"retired,omitzero"`
}

// Final reports whether the item reached an end state.
func (it *Item) Final() bool {
	return it.State == Done || it.State == Failed || it.State == Cancelled
}

// Queue is the queue store.
type Queue struct {
	st   *store.Store
	hist history
}

// Open returns the queue of a state directory.
func Open(d *statedir.Dir) *Queue {
	return &Queue{st: store.New(d.QueueDB(), d.Lock("queue")), hist: historyOf(d)}
}

// Store returns the underlying store, for hooks such as OnCorrupt.
func (q *Queue) Store() *store.Store { return q.st }

func itemKey(id string) string {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "q"), 10, 64)
	return fmt.Sprintf("i:%012d", n)
}

// ParseID accepts "q12" or "12" and returns the canonical ID.
func ParseID(s string) (string, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "q"), 10, 64)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q is not a queue item ID (they look like q12)", s)
	}
	return "q" + strconv.FormatUint(n, 10), nil
}

// PromptError is a prompt that cannot be run.
type PromptError struct{ Reason string }

func (e *PromptError) Error() string { return e.Reason }

// ExitCode makes a bad prompt a usage error.
func (e *PromptError) ExitCode() int { return 2 }

// Hint says where prompts come from.
func (e *PromptError) Hint() string { return "pass the prompt as arguments or on stdin" }

// CheckPrompt rejects prompts that cannot be run.
func CheckPrompt(p string) error {
	if strings.TrimSpace(p) == "" {
		return &PromptError{"the prompt is empty"}
	}
	if len(p) > MaxPrompt {
		return TooLong(int64(len(p)))
	}
	return nil
}

// ReadPrompt reads a prompt from r and checks it; a prompt over the limit
// is read to its end, so the error can say how big it is.
func ReadPrompt(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxPrompt+1))
	if err != nil {
		return "", err
	}
	if len(b) > MaxPrompt {
		rest, _ := io.Copy(io.Discard, r)
		return "", TooLong(int64(len(b)) + rest)
	}
	return string(b), CheckPrompt(string(b))
}

// TooLong is the error for a prompt of n bytes, over MaxPrompt.
func TooLong(n int64) error {
	return &PromptError{fmt.Sprintf("the prompt is %s; at most 1 MiB (%d bytes) is accepted", size(n), MaxPrompt)}
}

// size says how big n bytes is, for people.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

func put(tx *buntdb.Tx, it Item) error {
	b, err := json.Marshal(it)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(itemKey(it.ID), string(b), nil)
	return err
}

// retire moves the older finished items of sessions beyond KeepFinished
// to the history: appended there first, then deleted here, in the caller's
// transaction.
func (q *Queue) retire(tx *buntdb.Tx, sessions ...string) error {
	want := map[string]bool{}
	for _, s := range sessions {
		want[s] = true
	}
	done := map[string][]Item{}
	if err := scan(tx, func(o Item) bool {
		if want[o.Session] && o.Final() {
			done[o.Session] = append(done[o.Session], o)
		}
		return true
	}); err != nil {
		return err
	}
	var old []Item
	for _, items := range done {
		if len(items) >= 2*KeepFinished {
			old = append(old, items[:len(items)-KeepFinished]...)
		}
	}
	if len(old) == 0 {
		return nil
	}
	now := time.Now()
	for i := range old {
		old[i].Retired = now.UTC()
	}
	if err := q.hist.append(old, now); err != nil {
		return fmt.Errorf("write the queue history: %w", err)
	}
	q.hist.prune(now)
	for _, o := range old {
		if _, err := tx.Delete(itemKey(o.ID)); err != nil {
			return err
		}
	}
	return nil
}

func get(tx *buntdb.Tx, id string) (Item, error) {
	var it Item
	v, err := tx.Get(itemKey(id))
	if errors.Is(err, buntdb.ErrNotFound) {
		return it, ErrNotFound
	}
	if err != nil {
		return it, err
	}
	err = json.Unmarshal([]byte(v), &it)
	return it, err
}

func scan(tx *buntdb.Tx, fn func(Item) bool) error {
	var err error
	tx.AscendKeys("i:*", func(k, v string) bool {
		var it Item
		if e := json.Unmarshal([]byte(v), &it); e != nil {
			err = fmt.Errorf("queue item %s: %w", k, e)
			return false
		}
		return fn(it)
	})
	return err
}

// Push appends a prompt for a session.
func (q *Queue) Push(ctx context.Context, sess, prompt, source string) (Item, error) {
	if err := CheckPrompt(prompt); err != nil {
		return Item{}, err
	}
	it := Item{Session: sess, Prompt: prompt, Source: source, State: Queued, Created: time.Now().UTC()}
	err := q.st.Update(ctx, func(tx *buntdb.Tx) error {
		n := uint64(0)
		if v, err := tx.Get("meta:seq"); err == nil {
			n, _ = strconv.ParseUint(v, 10, 64)
		}
		n++
		if _, _, err := tx.Set("meta:seq", strconv.FormatUint(n, 10), nil); err != nil {
			return err
		}
		it.ID = "q" + strconv.FormatUint(n, 10)
		// A session whose items are parked parks new ones too, so order holds.
		scan(tx, func(o Item) bool {
			if o.Session == sess && o.State == Parked && o.ParkedUntil.After(it.ParkedUntil) {
				it.State, it.ParkedUntil = Parked, o.ParkedUntil
			}
			return true
		})
		return put(tx, it)
	})
	return it, err
}

// Get returns one item, from queue.db or the history.
func (q *Queue) Get(ctx context.Context, id string) (Item, error) {
	var it Item
	err := q.st.View(ctx, func(tx *buntdb.Tx) error {
		var err error
		it, err = get(tx, id)
		return err
	})
	if !errors.Is(err, ErrNotFound) {
		return it, err
	}
	found := false
	if herr := q.hist.scan(func(h Item) bool {
		if h.ID == id {
			it, found = h, true
			return false
		}
		return true
	}); herr != nil {
		return it, herr
	}
	if !found {
		return Item{}, ErrNotFound
	}
	return it, nil
}

// Filter selects items for List.
type Filter struct {
	Session string
	State   string
	// Live leaves the history out: queued, running and parked items and
	// the few recent finished ones queue.db still holds.
	Live bool
	// Since leaves out finished items that finished before it.
	Since time.Time
	// Limit keeps only the last Limit items (0: all).
	Limit int
}

func (f Filter) match(it Item) bool {
	return (f.Session == "" || it.Session == f.Session) && (f.State == "" || it.State == f.State) &&
		(f.Since.IsZero() || !it.Final() || !it.Finished.Before(f.Since))
}

// List returns items in queue order (oldest first): from queue.db and,
// unless f.Live, from the history, read from its end as far as f needs.
func (q *Queue) List(ctx context.Context, f Filter) ([]Item, error) {
	var out []Item
	seen := map[string]bool{}
	err := q.st.View(ctx, func(tx *buntdb.Tx) error {
		return scan(tx, func(it Item) bool {
			seen[it.ID] = true
			if f.match(it) {
				out = append(out, it)
			}
			return true
		})
	})
	if err != nil || f.Live || (f.State != "" && f.State != Done && f.State != Failed && f.State != Cancelled) {
		return trim(out, f.Limit), err
	}
	var old []Item
	err = q.hist.scan(func(it Item) bool {
		if !f.Since.IsZero() && it.Retired.Before(f.Since) {
			return false // retired before Since: finished before it too, as is all that is older
		}
		if !seen[it.ID] && f.match(it) {
			old = append(old, it)
		}
		return f.Limit == 0 || len(old)+len(out) < f.Limit
	})
	sort.Slice(old, func(i, j int) bool { return itemKey(old[i].ID) < itemKey(old[j].ID) })
	return trim(append(old, out...), f.Limit), err
}

func trim(items []Item, limit int) []Item {
	if limit > 0 && len(items) > limit {
		return items[len(items)-limit:]
	}
	return items
}

// States returns the states of the items with the given IDs, from
// queue.db or the history; IDs of no item are left out.
func (q *Queue) States(ctx context.Context, ids []string) (map[string]string, error) {
	m := map[string]string{}
	missing := map[string]bool{}
	err := q.st.View(ctx, func(tx *buntdb.Tx) error {
		for _, id := range ids {
			it, err := get(tx, id)
			if errors.Is(err, ErrNotFound) {
				missing[id] = true
				continue
			}
			if err != nil {
				return err
			}
			m[id] = it.State
		}
		return nil
	})
	if err != nil || len(missing) == 0 {
		return m, err
	}
	err = q.hist.scan(func(it Item) bool {
		if missing[it.ID] {
			m[it.ID] = it.State
			delete(missing, it.ID)
		}
		return len(missing) > 0
	})
	return m, err
}

// Counts returns the number of waiting (queued or parked) items per session.
func (q *Queue) Counts(ctx context.Context) (map[string]int, error) {
	m, _, err := q.Activity(ctx)
	return m, err
}

// Activity returns the number of waiting (queued or parked) items per
// session and the running item of each session that has one.
func (q *Queue) Activity(ctx context.Context) (waiting map[string]int, running map[string]Item, err error) {
	waiting, running = map[string]int{}, map[string]Item{}
	err = q.st.View(ctx, func(tx *buntdb.Tx) error {
		return scan(tx, func(it Item) bool {
			switch it.State {
			case Queued, Parked:
				waiting[it.Session]++
			case Running:
				running[it.Session] = it
			}
			return true
		})
	})
	return waiting, running, err
}

// Update changes one item of queue.db under the store lock.
func (q *Queue) Update(ctx context.Context, id string, fn func(*Item) error) (Item, error) {
	return q.update(ctx, id, false, fn)
}

func (q *Queue) update(ctx context.Context, id string, retire bool, fn func(*Item) error) (Item, error) {
	var it Item
	err := q.st.Update(ctx, func(tx *buntdb.Tx) error {
		var err error
		if it, err = get(tx, id); err != nil {
			return err
		}
		if err := fn(&it); err != nil {
			return err
		}
		if err := put(tx, it); err != nil {
			return err
		}
		if retire && it.Final() {
			return q.retire(tx, it.Session)
		}
		return nil
	})
	return it, err
}

// Claim returns the item the caller must drive next for a session: the item
// already running (left by a driver that died), else the first queued item,
// which it marks running with a new run ID. ok is false when nothing is
// runnable now; wake is then the earliest time a parked item becomes
// runnable (zero if none). The caller must hold the session's drive lock.
func (q *Queue) Claim(ctx context.Context, sess string, now time.Time) (it Item, recovered, ok bool, wake time.Time, err error) {
	err = q.st.Update(ctx, func(tx *buntdb.Tx) error {
		var running, next *Item
		var parked []Item
		if err := scan(tx, func(o Item) bool {
			if o.Session != sess {
				return true
			}
			switch o.State {
			case Running:
				o := o
				running = &o
			case Parked:
				parked = append(parked, o)
			case Queued:
				if next == nil {
					o := o
					next = &o
				}
			}
			return true
		}); err != nil {
			return err
		}
		if running != nil {
			it, recovered, ok = *running, true, true
			return nil
		}
		if len(parked) > 0 {
			until := parked[0].ParkedUntil
			if now.Before(until) {
				wake = until
				return nil
			}
			// The park is over: release every parked item in order.
			for _, p := range parked {
				p.State, p.ParkedUntil = Queued, time.Time{}
				if err := put(tx, p); err != nil {
					return err
				}
			}
			first := parked[0]
			if next == nil || itemKey(first.ID) < itemKey(next.ID) {
				first.State = Queued
				next = &first
			}
		}
		if next == nil {
			return nil
		}
		next.State = Running
		next.Attempts++
		next.Runs = max(next.Runs, next.Attempts-1) + 1
		next.Started = now.UTC()
		next.Run = fmt.Sprintf("%s-%d", next.ID, next.Runs)
		it, ok = *next, true
		return put(tx, *next)
	})
	return
}

// Runnable returns the sessions that have a running or queued item, and the
// earliest time a parked item becomes runnable.
func (q *Queue) Runnable(ctx context.Context, now time.Time) (sessions []string, wake time.Time, err error) {
	seen := map[string]bool{}
	err = q.st.View(ctx, func(tx *buntdb.Tx) error {
		return scan(tx, func(it Item) bool {
			switch it.State {
			case Running, Queued:
				seen[it.Session] = true
			case Parked:
				if !now.Before(it.ParkedUntil) {
					seen[it.Session] = true
				} else if wake.IsZero() || it.ParkedUntil.Before(wake) {
					wake = it.ParkedUntil
				}
			}
			return true
		})
	})
	for s := range seen {
		sessions = append(sessions, s)
	}
	sort.Strings(sessions)
	return sessions, wake, err
}

// Finish records the end of a running item. It refuses an item that is not
// running, so a finished item is never finished (or run) twice.
func (q *Queue) Finish(ctx context.Context, id string, fn func(*Item)) (Item, error) {
	var it Item
	err := q.st.Update(ctx, func(tx *buntdb.Tx) error {
		var err error
		if it, err = get(tx, id); err != nil {
			return err
		}
		if it.State != Running {
			return fmt.Errorf("item %s is %s, not running", id, it.State)
		}
		fn(&it)
		if it.Finished.IsZero() && it.Final() {
			it.Finished = time.Now().UTC()
		}
		if err := put(tx, it); err != nil {
			return err
		}
		return q.retire(tx, it.Session)
	})
	return it, err
}

// Park parks the running item id and every queued item of its session until
// t; the item is run again then.
func (q *Queue) Park(ctx context.Context, id string, until time.Time, reason string) error {
	return q.st.Update(ctx, func(tx *buntdb.Tx) error {
		it, err := get(tx, id)
		if err != nil {
			return err
		}
		return updateWhere(tx, func(o *Item) bool {
			if o.Session != it.Session || (o.ID != id && o.State != Queued) {
				return false
			}
			o.State, o.ParkedUntil = Parked, until.UTC()
			if o.ID == id {
				o.Error = reason
			}
			return true
		})
	})
}

// updateWhere rewrites the items for which fn returns true. buntdb forbids
// writes while iterating, so it collects first.
func updateWhere(tx *buntdb.Tx, fn func(*Item) bool) error {
	var changed []Item
	if err := scan(tx, func(o Item) bool {
		if fn(&o) {
			changed = append(changed, o)
		}
		return true
	}); err != nil {
		return err
	}
	for _, o := range changed {
		if err := put(tx, o); err != nil {
			return err
		}
	}
	return nil
}

// Cancel cancels a queued or parked item.
func (q *Queue) Cancel(ctx context.Context, id string) (Item, error) {
	return q.update(ctx, id, true, func(it *Item) error {
		switch it.State {
		case Queued, Parked:
			it.State = Cancelled
			it.Error = "cancelled"
			it.Finished = time.Now().UTC()
			return nil
		case Running:
			return fmt.Errorf("item %s is running: stop it with ce-session stop %s", id, it.Session)
		default:
			return fmt.Errorf("item %s is already %s", id, it.State)
		}
	})
}

// CancelSession cancels every queued or parked item of a session and
// returns how many.
func (q *Queue) CancelSession(ctx context.Context, sess string) (int, error) {
	n := 0
	err := q.st.Update(ctx, func(tx *buntdb.Tx) error {
		n = 0
		if err := updateWhere(tx, func(o *Item) bool {
			if o.Session != sess || (o.State != Queued && o.State != Parked) {
				return false
			}
			o.State, o.Error, o.Finished = Cancelled, "cancelled", time.Now().UTC()
			n++
			return true
		}); err != nil {
			return err
		}
		return q.retire(tx, sess)
	})
	return n, err
}

// Retry queues a new item with the prompt of a failed or cancelled one.
func (q *Queue) Retry(ctx context.Context, id string) (Item, error) {
	old, err := q.Get(ctx, id)
	if err != nil {
		return Item{}, err
	}
	if old.State != Failed && old.State != Cancelled {
		return Item{}, fmt.Errorf("item %s is %s; only failed or cancelled items can be retried", id, old.State)
	}
	it, err := q.Push(ctx, old.Session, old.Prompt, old.Source)
	if err != nil {
		return it, err
	}
	return q.Update(ctx, it.ID, func(n *Item) error { n.RetryOf = old.ID; return nil })
}

// Requeue puts a running item back to queued, for a run that never started
// (attempt not counted) or one that is retried after its tmux died.
func (q *Queue) Requeue(ctx context.Context, id string, countAttempt bool, reason string) (Item, error) {
	return q.Update(ctx, id, func(it *Item) error {
		if it.State != Running {
			return fmt.Errorf("item %s is %s, not running", id, it.State)
		}
		it.State = Queued
		if !countAttempt {
			it.Attempts--
		}
		it.Error = reason
		return nil
	})
}

// RemoveSession deletes every item of a session, or renames them when
// newName is not empty.
func (q *Queue) RemoveSession(ctx context.Context, sess, newName string) error {
	return q.st.Update(ctx, func(tx *buntdb.Tx) error {
		var items []Item
		if err := scan(tx, func(o Item) bool {
			if o.Session == sess {
				items = append(items, o)
			}
			return true
		}); err != nil {
			return err
		}
		for _, o := range items {
			if newName == "" {
				if _, err := tx.Delete(itemKey(o.ID)); err != nil {
					return err
				}
				continue
			}
			o.Session = newName
			if err := put(tx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

package tools

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/statedir"
)

// itemPoll is how often the question's queue item is read besides watching
// queue.db.
const itemPoll = 3 * time.Second

// itemEnded is the cause that ends a wait when the question's queue item
// ended (or vanished) first.
type itemEnded struct {
	item queue.Item
	gone bool
}

func (e *itemEnded) Error() string { return "queue item " + e.item.ID + " ended" }

// watchItem calls stop with an *itemEnded once queue item id is final or
// removed; it reads the item when queue.db is written and every itemPoll,
// until ctx ends.
func watchItem(ctx context.Context, st *statedir.Dir, q *queue.Queue, id string, stop context.CancelCauseFunc) {
	var changed <-chan string
	if w, err := st.Watch(queue.DBFile); err == nil {
		defer w.Close()
		changed = w.C
	}
	tick := time.NewTicker(itemPoll)
	defer tick.Stop()
	for {
		it, err := q.Get(ctx, id)
		switch {
		case errors.Is(err, queue.ErrNotFound):
			stop(&itemEnded{item: queue.Item{ID: id}, gone: true})
			return
		case err == nil && it.Final():
			stop(&itemEnded{item: it})
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// cancelItem removes the question's item from the queue if it has not
// started, and reports whether it did.
func cancelItem(q *queue.Queue, id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := q.Cancel(ctx, id)
	return err == nil
}

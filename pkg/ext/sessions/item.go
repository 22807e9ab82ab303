package sessions

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/fsnotify/fsnotify"
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
	changed := make(chan struct{}, 1)
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer func() { go w.Close() }() // closing takes 5-20 ms
		if w.Add(st.Root) == nil {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case ev, ok := <-w.Events:
						if !ok {
							return
						}
						if filepath.Base(ev.Name) == "queue.db" && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
							select {
							case changed <- struct{}{}:
							default:
							}
						}
					case _, ok := <-w.Errors:
						if !ok {
							return
						}
					}
				}
			}()
		}
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

// publishQueueChanged wakes a queue worker through the broker; the worker
// also watches queue.db, so this only saves it a file event.
func publishQueueChanged(ctx context.Context, env ext.Env, it queue.Item) {
	if env.BridgeSocket == "" {
		return
	}
	c := bridge.Dial(env.BridgeSocket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	c.Publish(ctx, "queue.changed", map[string]string{"session": it.Session, "item": it.ID})
}

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
)

// Serve is the queue worker's loop (run it in the daemon skeleton, which
// holds the worker lock): it drives every session with runnable items, at
// most queue.max_parallel at once, waking on queue.changed from the broker,
// on changes of queue.db and on park deadlines rather than polling. It
// returns when ctx is done; runs in flight go on in tmux and are finished by
// the next worker.
func (d *Driver) Serve(ctx context.Context, bc *bridge.Client) error {
	w, err := d.State.Watch(queue.DBFile)
	if err != nil {
		return err
	}
	defer w.Close()
	changed, err := bc.Subscribe(ctx, platform.TopicQueueChanged)
	if err != nil {
		return err
	}
	d.Log.Info().Int("max_parallel", d.Config.Queue.MaxParallel).Msg("queue worker serving")

	var wg sync.WaitGroup
	defer wg.Wait()
	driving := map[string]bool{}
	finished := make(chan string, 16)
	var retry <-chan time.Time
	for {
		sessions, wake, err := d.Queue.Runnable(ctx, d.Now())
		if err != nil && ctx.Err() == nil {
			d.Log.Error().Err(err).Msg("cannot read the queue")
		}
		busy := false
		for _, s := range sessions {
			if driving[s] {
				continue
			}
			if len(driving) >= d.Config.Queue.MaxParallel {
				break
			}
			if d.Driving(s) {
				busy = true // driven by a send; look again soon
				continue
			}
			driving[s] = true
			wg.Add(1)
			go func(s string) {
				defer wg.Done()
				if _, err := d.DriveSession(ctx, s, DriveOptions{}); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
					d.Log.Error().Err(err).Str("session", s).Msg("driving the session failed")
				}
				select {
				case finished <- s:
				case <-ctx.Done(): // Serve no longer reads finished
				}
			}(s)
		}
		var timer <-chan time.Time
		if !wake.IsZero() {
			timer = time.After(max(time.Until(wake), 0) + 10*time.Millisecond)
		}
		if busy {
			retry = time.After(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil
		case s := <-finished:
			delete(driving, s)
		case <-w.C:
		case <-changed:
		case <-timer:
		case <-retry:
			retry = nil
		}
	}
}

// Tick does one round of the worker's work and returns: it recovers runs
// left by dead drivers, starts one item per session with runnable items
// (every item when drain is set), waits for those runs and records them.
func (d *Driver) Tick(ctx context.Context, drain bool) (int, error) {
	sessions, _, err := d.Queue.Runnable(ctx, d.Now())
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.Config.Queue.MaxParallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	n := 0
	for _, s := range sessions {
		wg.Add(1)
		sem <- struct{}{}
		go func(s string) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := d.DriveSession(ctx, s, DriveOptions{Once: !drain})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
			case err != nil:
				errs = append(errs, fmt.Errorf("session %s: %w", s, err))
			default:
				n++
			}
		}(s)
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

package dispatch

import (
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// Watch signals changes of a file in the state directory (every write to a
// buntdb store appends to its file), so waiters wake on events instead of
// polling.
type Watch struct {
	C <-chan struct{}
	w *fsnotify.Watcher
}

// WatchFile watches one file of the state directory, e.g. "queue.db".
func (d *Driver) WatchFile(name string) (*Watch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(d.State.Root); err != nil {
		w.Close()
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Base(ev.Name) == name {
					select {
					case ch <- struct{}{}:
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
	return &Watch{C: ch, w: w}, nil
}

// Close stops the watch. It does not wait: closing an inotify watcher
// takes 5-20 ms.
func (w *Watch) Close() {
	if w != nil {
		go w.w.Close()
	}
}

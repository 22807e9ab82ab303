package statedir

import (
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// Watch signals changes of files in the state directory: every write to a
// store appends to its file, so daemons and waiters wake on that instead of
// polling. Changes coalesce: a receiver must read the file to its end.
type Watch struct {
	// C receives the base name of a watched file after it changed.
	C <-chan string
	w *fsnotify.Watcher
}

// Watch watches the named files of the root directory ("queue.db").
func (d *Dir) Watch(names ...string) (*Watch, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(d.Root); err != nil {
		w.Close()
		return nil, err
	}
	ch := make(chan string, len(names))
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				base := filepath.Base(ev.Name)
				for _, n := range names {
					if base == n && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
						select {
						case ch <- base:
						default:
						}
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

// Close stops the watch without waiting: closing an inotify instance takes
// 5-20 ms, which a short-lived command need not spend.
func (w *Watch) Close() {
	if w != nil {
		go w.w.Close()
	}
}

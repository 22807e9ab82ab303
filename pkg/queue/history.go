package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
)

// The history keeps finished items once they leave queue.db, so that the
// hot store holds live state only and costs the same to open whatever the
// history behind it: <state>/history/queue-<year>-w<week>.jsonl, one JSON
// Item per line, appended and fsynced before the items leave queue.db. A
// crash between the two appends an item twice; readers keep one. Files are
// removed once their week is past the retention.
const historyDir = "history"

// history is the queue's append-only record of finished items.
type history struct{ dir string }

func historyOf(d *statedir.Dir) history { return history{dir: d.Path(historyDir)} }

func weekFile(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("queue-%04d-w%02d.jsonl", y, w)
}

// append writes items (finished ones) to the file of the current week.
func (h history) append(items []Item, now time.Time) error {
	if len(items) == 0 {
		return nil
	}
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	f, err := os.OpenFile(filepath.Join(h.dir, weekFile(now)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// files lists the history files, newest first.
func (h history) files() ([]string, error) {
	entries, err := os.ReadDir(h.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "queue-") && strings.HasSuffix(n, ".jsonl") {
			out = append(out, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

// scan hands fn the items of the history from the newest line back, each
// ID once, until fn returns false. Lines that do not parse are skipped.
func (h history) scan(fn func(Item) bool) error {
	names, err := h.files()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range names {
		stop := false
		err := readBackwards(filepath.Join(h.dir, name), func(line []byte) bool {
			var it Item
			if json.Unmarshal(line, &it) != nil || it.ID == "" || seen[it.ID] {
				return true
			}
			seen[it.ID] = true
			if !fn(it) {
				stop = true
				return false
			}
			return true
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if stop {
			return nil
		}
	}
	return nil
}

// prune removes the files of weeks wholly past the retention.
func (h history) prune(now time.Time) {
	names, _ := h.files()
	keep := map[string]bool{}
	for t := now.Add(-Retention - 7*24*time.Hour); !t.After(now); t = t.Add(24 * time.Hour) {
		keep[weekFile(t)] = true
	}
	for _, n := range names {
		if !keep[n] {
			os.Remove(filepath.Join(h.dir, n))
		}
	}
}

// readBackwards calls fn with each complete line of a file, last first.
func readBackwards(path string, fn func([]byte) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	const chunk = 64 << 10
	var carry []byte
	for pos := end; pos > 0; {
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		pos -= n
		buf := make([]byte, n, int(n)+len(carry))
		if _, err := f.ReadAt(buf, pos); err != nil && err != io.EOF {
			return err
		}
		buf = append(buf, carry...)
		// Every line but the first in buf is complete: the first may
		// continue in the chunk before.
		for {
			i := bytes.LastIndexByte(buf[:max(len(buf)-1, 0)], '\n')
			if i < 0 {
				break
			}
			if line := bytes.TrimSpace(buf[i+1:]); len(line) > 0 && !fn(line) {
				return nil
			}
			buf = buf[:i+1]
		}
		carry = buf
	}
	if line := bytes.TrimSpace(carry); len(line) > 0 {
		fn(line)
	}
	return nil
}

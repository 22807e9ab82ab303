package poller

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gofrs/flock"
	"github.com/rs/zerolog"
)

// Journal files in the poller's directory.
const (
	journalName = "updates.journal"
	lockName    = "updates.lock"
)

// record is one line of the journal: a received update (ID and Update), a
// handled mark (ID and Done), or the next offset (Next) that compaction
// keeps when it drops the records it came from.
type record struct {
	ID     int64           `json:"id,omitempty"`
	Update json.RawMessage `json:"update,omitempty"`
	Done   bool            `json:"done,omitempty"`
	Next   int64           `json:"next,omitempty"`
}

// journal is the append-only file of updates received and handled. Each
// append is fsynced before the caller goes on.
type journal struct {
	dir     string
	f       *os.File
	lock    *flock.Flock
	log     zerolog.Logger
	pending map[int64]json.RawMessage // received, not handled
	next    int64                     // one past the highest update id ever received
	records int                       // lines in the file
}

// openJournal locks dir, reads the journal and cuts off a torn last line.
func openJournal(dir string, log zerolog.Logger) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	lock := flock.New(filepath.Join(dir, lockName))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock journal: %w", err)
	}
	if !ok {
		holder, _ := os.ReadFile(filepath.Join(dir, lockName))
		return nil, fmt.Errorf("journal in %s is in use by another poller (pid %s)", dir, bytes.TrimSpace(holder))
	}
	_ = os.WriteFile(lock.Path(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	j := &journal{dir: dir, lock: lock, log: log, pending: map[int64]json.RawMessage{}}
	if err := j.load(); err != nil {
		_ = lock.Unlock()
		return nil, err
	}
	return j, nil
}

func (j *journal) path() string { return filepath.Join(j.dir, journalName) }

func (j *journal) load() error {
	f, err := os.OpenFile(j.path(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	r := bufio.NewReader(f)
	var good int64 // bytes of complete, readable lines
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				j.log.Warn().Int("bytes", len(line)).Msg("journal ends in a torn record, cutting it off")
			}
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("read journal: %w", err)
		}
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			j.log.Warn().Int64("offset", good).Msg("journal has an unreadable record, skipping it")
		} else {
			j.apply(rec)
		}
		good += int64(len(line))
		j.records++
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return fmt.Errorf("truncate journal: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("seek journal: %w", err)
	}
	j.f = f
	return nil
}

func (j *journal) apply(rec record) {
	switch {
	case rec.Next != 0:
		j.next = max(j.next, rec.Next)
	case rec.Done:
		delete(j.pending, rec.ID)
		j.next = max(j.next, rec.ID+1)
	case rec.ID != 0 && rec.Update != nil:
		j.pending[rec.ID] = rec.Update
		j.next = max(j.next, rec.ID+1)
	}
}

// append writes records and fsyncs them.
func (j *journal) append(recs ...record) error {
	buf, err := encode(recs)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(buf); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	j.records += len(recs)
	return nil
}

// encode writes records as JSON lines, leaving <, > and & of the updates
// as Telegram sent them.
func encode(recs []record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, rec := range recs {
		if err := enc.Encode(rec); err != nil {
			return nil, fmt.Errorf("encode journal record: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// received journals a batch of updates before anything acts on them.
func (j *journal) received(ups []Update) error {
	recs := make([]record, len(ups))
	for i, u := range ups {
		recs[i] = record{ID: u.ID, Update: u.Raw}
	}
	if err := j.append(recs...); err != nil {
		return err
	}
	for _, u := range ups {
		j.pending[u.ID] = u.Raw
		j.next = max(j.next, u.ID+1)
	}
	return nil
}

// handled marks an update as handled.
func (j *journal) handled(id int64) error {
	if err := j.append(record{ID: id, Done: true}); err != nil {
		return err
	}
	delete(j.pending, id)
	return nil
}

// pendingUpdates returns the updates received and not handled, oldest
// first.
func (j *journal) pendingUpdates() []Update {
	ids := make([]int64, 0, len(j.pending))
	for id := range j.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]Update, len(ids))
	for i, id := range ids {
		out[i] = Update{ID: id, Raw: j.pending[id]}
	}
	return out
}

// compact rewrites the journal as the next offset and the pending
// updates: written to a temporary file in the same directory, fsynced,
// renamed over the journal, and the directory fsynced.
func (j *journal) compact() error {
	tmp, err := os.CreateTemp(j.dir, journalName+".*.tmp")
	if err != nil {
		return fmt.Errorf("compact journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	recs := []record{{Next: j.next}}
	for _, u := range j.pendingUpdates() {
		recs = append(recs, record{ID: u.ID, Update: u.Raw})
	}
	buf, err := encode(recs)
	if err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		return fmt.Errorf("compact journal: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("compact journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), j.path()); err != nil {
		tmp.Close()
		return fmt.Errorf("compact journal: %w", err)
	}
	if d, err := os.Open(j.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	old := j.f
	if _, err := tmp.Seek(0, io.SeekEnd); err != nil {
		tmp.Close()
		return fmt.Errorf("compact journal: %w", err)
	}
	j.f, j.records = tmp, len(recs)
	old.Close()
	return nil
}

func (j *journal) close() error {
	err := j.f.Close()
	if uerr := j.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

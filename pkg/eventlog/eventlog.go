// Package eventlog is ce's structured event log: <state>/events.jsonl, one
// JSON Event per line, each with a sequence number so that a reader can
// resume from the last number it saw.
//
// The file layout and the lock protocol are a contract; other programs may
// rely on them:
//
//   - Lines are appended whole, each ending in "\n", with Seq one more than the
//     line before it, starting at 1. A line without its "\n" at the end of the
//     file is a write in progress or a torn write; the next append starts on a
//     fresh line, and lines that do not parse are skipped by readers.
//   - Writers hold an exclusive flock(2) on <LockDir>/events.lock from reading
//     the last seq until their lines are written and fsynced, so every writer
//     of a log must use the same LockDir. Readers take no lock.
//   - When events.jsonl grows past MaxSize it becomes events.jsonl.1, the old
//     .1 becomes .2 and so on; files past Keep are deleted. A reader that
//     watches the file sees a rename and a create.
package eventlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// File names inside the log's directories.
const (
	FileName = "events.jsonl"
	LockName = "events.lock"
)

// Defaults for Options.
const (
	DefaultMaxSize = 16 << 20
	DefaultKeep    = 3
)

// Event is one line of the log.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Type says what happened, e.g. session.created, prompt.queued,
	// run.started, run.finished, session.dead.
	Type    string `json:"type"`
	Session string `json:"session,omitempty"`
	Item    string `json:"item,omitempty"`
	// Data is decoded as encoding/json does into any: numbers come back as
	// float64.
	Data map[string]any `json:"data,omitempty"`
}

// Options tune a Log. The zero value is usable.
type Options struct {
	// MaxSize is the size in bytes past which events.jsonl is rotated;
	// DefaultMaxSize if zero or less.
	MaxSize int64
	// Keep is how many rotated files (events.jsonl.1 ... .Keep) are kept
	// besides events.jsonl; DefaultKeep if zero or less.
	Keep int
	// LockDir is the directory of events.lock, e.g. <state>/locks; the log's
	// own directory if empty.
	LockDir string
}

// Log is the event log in one directory. It is safe for concurrent use by
// goroutines and, through the lock file, by processes.
type Log struct {
	dir      string
	path     string
	lockDir  string
	lockPath string
	maxSize  int64
	keep     int

	mu sync.Mutex // serialises this process's appends before the flock
}

// Open returns the log in dir. It does no I/O: the directories and files are
// created by the first Append.
func Open(dir string, opts Options) *Log {
	l := &Log{
		dir:     dir,
		path:    filepath.Join(dir, FileName),
		lockDir: opts.LockDir,
		maxSize: opts.MaxSize,
		keep:    opts.Keep,
	}
	if l.lockDir == "" {
		l.lockDir = dir
	}
	l.lockPath = filepath.Join(l.lockDir, LockName)
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	if l.keep <= 0 {
		l.keep = DefaultKeep
	}
	return l
}

// Path returns the path of the current file, events.jsonl.
func (l *Log) Path() string { return l.path }

// Append writes events as consecutive lines and returns their sequence
// numbers. Seq is assigned here, whatever the caller set; a zero Time is set
// to now. The lines are written with one write and fsynced before Append
// returns. Every event needs a Type.
//
// Rotation happens after the write; if it fails the events are still
// written and the next Append tries again.
func (l *Log) Append(events ...Event) ([]uint64, error) {
	if len(events) == 0 {
		return nil, nil
	}
	for i := range events {
		if events[i].Type == "" {
			return nil, fmt.Errorf("eventlog: event %d has no type", i)
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	if err := os.MkdirAll(l.lockDir, 0o700); err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	lock := flock.New(l.lockPath, flock.SetPermissions(0o600))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("eventlog: lock %s: %w", l.lockPath, err)
	}
	defer lock.Close()

	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	size := st.Size()
	last, found, torn, err := tail(f, size)
	if err != nil {
		return nil, fmt.Errorf("eventlog: read %s: %w", l.path, err)
	}
	if !found {
		if last, err = l.rotatedLast(); err != nil {
			return nil, err
		}
	}

	var buf bytes.Buffer
	if torn {
		buf.WriteByte('\n')
	}
	now := time.Now().UTC()
	seqs := make([]uint64, len(events))
	for i, ev := range events {
		ev.Seq = last + 1 + uint64(i)
		if ev.Time.IsZero() {
			ev.Time = now
		}
		line, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("eventlog: event %d (%s): %w", i, ev.Type, err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
		seqs[i] = ev.Seq
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		// Leave no partial line behind if we can help it.
		_ = f.Truncate(size)
		return nil, fmt.Errorf("eventlog: write %s: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("eventlog: sync %s: %w", l.path, err)
	}
	if size == 0 {
		_ = syncDir(l.dir) // a new file: make its name durable too
	}
	if size+int64(buf.Len()) > l.maxSize {
		_ = l.rotate()
	}
	return seqs, nil
}

// Last returns the sequence number of the newest event, 0 if there is none.
// It takes no lock, so it may miss an append in progress.
func (l *Log) Last() (uint64, error) {
	f, err := os.Open(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("eventlog: %w", err)
	default:
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return 0, fmt.Errorf("eventlog: %w", err)
		}
		seq, found, _, err := tail(f, st.Size())
		if err != nil {
			return 0, fmt.Errorf("eventlog: read %s: %w", l.path, err)
		}
		if found {
			return seq, nil
		}
	}
	return l.rotatedLast()
}

// Read calls fn for each event with Seq > after, oldest first, across the
// rotated files and the current one. Lines that do not parse are skipped.
// Read takes no lock; events appended while it runs may or may not be
// delivered, so a follower calls it again with the last Seq it saw. An error
// from fn stops Read and is returned.
func (l *Log) Read(after uint64, fn func(Event) error) error {
	// Open newest first: a rotation between two opens then shows the same
	// file twice (filtered by seq below) instead of hiding one.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	cur, err := os.Open(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("eventlog: %w", err)
	default:
		files = append(files, cur)
	}
	nums, err := l.rotatedNums()
	if err != nil {
		return err
	}
	for _, n := range nums {
		f, err := os.Open(l.rotatedPath(n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return fmt.Errorf("eventlog: %w", err)
		}
		files = append(files, f)
	}

	cursor := after
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("eventlog: %w", err)
		}
		off, err := seekAfter(f, st.Size(), cursor)
		if err != nil {
			return fmt.Errorf("eventlog: read %s: %w", f.Name(), err)
		}
		if off >= st.Size() {
			continue
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("eventlog: %w", err)
		}
		if err := readFile(f, &cursor, fn); err != nil {
			return err
		}
	}
	return nil
}

// readFile delivers the events of f with Seq > *cursor, advancing it.
func readFile(f *os.File, cursor *uint64, fn func(Event) error) error {
	r := bufio.NewReaderSize(f, 64<<10)
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			long = append(long, chunk...)
			line, long = long, nil
		}
		if len(line) > 0 {
			if seq, ok := quickSeq(line); !ok || seq > *cursor {
				var ev Event
				if json.Unmarshal(line, &ev) == nil && ev.Seq > *cursor {
					*cursor = ev.Seq
					if err := fn(ev); err != nil {
						return err
					}
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("eventlog: read %s: %w", f.Name(), err)
		}
	}
}

// quickSeq reads the seq of a line as Append writes it ({"seq":N,...})
// without decoding the rest, so that old lines are skipped cheaply.
func quickSeq(line []byte) (uint64, bool) {
	const prefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return 0, false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rest[:end]), 10, 64)
	return n, err == nil
}

// tail finds the newest event in the first size bytes of f by reading
// backwards from the end. torn reports that the data does not end in "\n".
// A last line without its "\n" counts only if it parses in full.
func tail(f *os.File, size int64) (seq uint64, found, torn bool, err error) {
	torn, err = scanBack(f, size, func(line []byte, _ int64) bool {
		seq, found = lineSeq(line)
		return found
	})
	return seq, found, torn, err
}

// seekAfter returns the offset in f of the first line that may hold an
// event with Seq > after: just past the newest line whose seq is at most
// after, found by reading backwards, so a follower near the end of a large
// file reads only the end. Seqs only grow within a file, and a torn line
// carries the seq that the next append reused, so any line's leading seq
// is a safe boundary.
func seekAfter(f *os.File, size int64, after uint64) (int64, error) {
	if after == 0 {
		return 0, nil
	}
	var off int64
	_, err := scanBack(f, size, func(line []byte, start int64) bool {
		seq, ok := quickSeq(line)
		if !ok {
			seq, ok = lineSeq(line)
		}
		if ok && seq <= after {
			off = min(start+int64(len(line))+1, size)
			return true
		}
		return false
	})
	return off, err
}

// scanBack calls fn with each line of the first size bytes of f, last line
// first, and the line's offset, until fn returns true. The bytes after the
// last "\n", if any, come first as a line of their own; torn reports them.
func scanBack(f *os.File, size int64, fn func(line []byte, start int64) bool) (torn bool, err error) {
	if size == 0 {
		return false, nil
	}
	chunk := int64(4 << 10)
	off := size
	var buf []byte // the file from off up to the end of the next line to visit
	for {
		i := bytes.LastIndexByte(buf, '\n')
		if i < 0 && off > 0 {
			n := min(chunk, off)
			more := make([]byte, int(n)+len(buf))
			if _, err := f.ReadAt(more[:n], off-n); err != nil {
				return torn, err
			}
			copy(more[n:], buf)
			if off == size {
				torn = more[len(more)-1] != '\n'
			}
			off -= n
			buf = more
			chunk = min(2*chunk, 1<<20)
			continue
		}
		if fn(buf[i+1:], off+int64(i+1)) || i < 0 {
			return torn, nil
		}
		buf = buf[:i]
	}
}

// lineSeq reports the seq of a complete, valid event line.
func lineSeq(line []byte) (uint64, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return 0, false
	}
	var v struct {
		Seq *uint64 `json:"seq"`
	}
	if json.Unmarshal(line, &v) != nil || v.Seq == nil || *v.Seq == 0 {
		return 0, false
	}
	return *v.Seq, true
}

func (l *Log) rotatedPath(n int) string { return l.path + "." + strconv.Itoa(n) }

// rotatedNums lists the numbers of the rotated files, newest (1) first.
func (l *Log) rotatedNums() ([]int, error) {
	entries, err := os.ReadDir(l.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	var nums []int
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), FileName+".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 1 || strconv.Itoa(n) != suffix {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// rotatedLast returns the newest seq in the rotated files, 0 if none.
func (l *Log) rotatedLast() (uint64, error) {
	nums, err := l.rotatedNums()
	if err != nil {
		return 0, err
	}
	for _, n := range nums {
		f, err := os.Open(l.rotatedPath(n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("eventlog: %w", err)
		}
		seq, found, err := func() (uint64, bool, error) {
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return 0, false, err
			}
			seq, found, _, err := tail(f, st.Size())
			return seq, found, err
		}()
		if err != nil {
			return 0, fmt.Errorf("eventlog: read %s: %w", f.Name(), err)
		}
		if found {
			return seq, nil
		}
	}
	return 0, nil
}

// rotate shifts events.jsonl to .1, .1 to .2 and so on, dropping files past
// Keep. The caller holds the lock.
func (l *Log) rotate() error {
	nums, err := l.rotatedNums()
	if err != nil {
		return err
	}
	for _, n := range slices.Backward(nums) {
		if n >= l.keep {
			if err := os.Remove(l.rotatedPath(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := os.Rename(l.rotatedPath(n), l.rotatedPath(n+1)); err != nil {
			return err
		}
	}
	if err := os.Rename(l.path, l.rotatedPath(1)); err != nil {
		return err
	}
	return syncDir(l.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

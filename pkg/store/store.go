// Package store opens ce's buntdb files safely across processes: every use
// holds an exclusive flock on a separate lock file for the whole
// open-use-close span (buntdb itself has no cross-process locking, and even
// a read can truncate a torn tail), and closing fsyncs, so a write is durable
// when Update returns.
//
// A file that buntdb cannot load is moved aside with its path reported,
// never silently dropped.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/tidwall/buntdb"
)

// DefaultLockTimeout bounds how long an operation waits for another
// process's use of the same store.
const DefaultLockTimeout = 30 * time.Second

// compactSize is the file size above which a write checks whether the
// store should be compacted: rewritten with only its live records, when
// they take less than half the file. buntdb appends every change and every
// open reads the whole file, so a store of a few live records that grew to
// megabytes of history would make every command slow. The size of the
// live records at the last check is kept beside the file (.live), so that
// a store whose live records are large is not checked at every write.
const compactSize = 16 << 10

// Store is one buntdb file with its lock.
type Store struct {
	Path     string
	LockPath string
	// OnCorrupt is called when the file could not be loaded and was moved
	// aside to movedTo; the store then starts empty.
	OnCorrupt func(path, movedTo string, err error)
}

// New returns the store at path locked by lockPath.
func New(path, lockPath string) *Store {
	return &Store{Path: path, LockPath: lockPath}
}

// CorruptError reports a store file that was moved aside.
type CorruptError struct {
	Path, MovedTo string
	Err           error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s could not be loaded (%v); moved it to %s and started empty", e.Path, e.Err, e.MovedTo)
}

// Update runs fn in a read-write transaction; the change is on disk when it
// returns nil.
func (s *Store) Update(ctx context.Context, fn func(tx *buntdb.Tx) error) error {
	return s.use(ctx, true, fn)
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(tx *buntdb.Tx) error) error {
	return s.use(ctx, false, fn)
}

func (s *Store) use(ctx context.Context, write bool, fn func(tx *buntdb.Tx) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLockTimeout)
		defer cancel()
	}
	lk, err := lockfile.Acquire(ctx, s.LockPath)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	db, err := s.open()
	if err != nil {
		return err
	}
	if write {
		err = db.Update(fn)
	} else {
		err = db.View(fn)
	}
	var live *bytes.Buffer
	if write && err == nil {
		if fi, serr := os.Stat(s.Path); serr == nil && fi.Size() > compactSize && fi.Size() > 2*s.lastLive() {
			var buf bytes.Buffer
			if db.Save(&buf) == nil {
				if int64(buf.Len()) < fi.Size()/2 {
					live = &buf
				} else {
					s.rememberLive(int64(buf.Len()))
				}
			}
		}
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", s.Path, cerr)
	}
	if err == nil && live != nil {
		// Still under the lock: nobody has the file open. buntdb's own
		// Shrink sleeps 250 ms first; this takes a write and an fsync.
		if cerr := statedir.WriteFile(s.Path, live.Bytes(), 0o600); cerr != nil {
			return fmt.Errorf("compact %s: %w", s.Path, cerr)
		}
		s.rememberLive(int64(live.Len()))
	}
	return err
}

// lastLive is the size of the live records at the last check, 0 if none.
func (s *Store) lastLive() int64 {
	b, err := os.ReadFile(s.Path + ".live")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// rememberLive keeps the size of the live records: a hint, not worth an
// fsync.
func (s *Store) rememberLive(n int64) {
	os.WriteFile(s.Path+".live", []byte(strconv.FormatInt(n, 10)+"\n"), 0o600)
}

func (s *Store) open() (*buntdb.DB, error) {
	if f, err := os.OpenFile(s.Path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	db, err := buntdb.Open(s.Path)
	if err != nil {
		if !errors.Is(err, buntdb.ErrInvalid) {
			return nil, fmt.Errorf("open %s: %w", s.Path, err)
		}
		moved := fmt.Sprintf("%s.corrupt-%s", s.Path, time.Now().UTC().Format("20060102T150405"))
		if rerr := os.Rename(s.Path, moved); rerr != nil {
			return nil, fmt.Errorf("%s is corrupt (%v) and could not be moved aside: %w", s.Path, err, rerr)
		}
		if s.OnCorrupt != nil {
			s.OnCorrupt(s.Path, moved, err)
		}
		if f, err := os.OpenFile(s.Path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
		db, err = buntdb.Open(s.Path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", s.Path, err)
		}
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err == nil {
		cfg.AutoShrinkDisabled = true
		cfg.SyncPolicy = buntdb.Never // Close fsyncs; we close at once
		db.SetConfig(cfg)
	}
	return db, nil
}

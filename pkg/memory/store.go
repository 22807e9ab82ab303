// Package memory provides ce's memory: notes that outlive sessions, one
// Markdown file per note with a YAML front matter (id, title, tags,
// created, updated, source), and a full-text index over them (SQLite FTS5:
// BM25 ranking, highlighted snippets, phrase and prefix queries).
//
// The files are the truth. A note added, edited or deleted by hand, or by
// git pull, is picked up by the next command: every command first checks
// the directories' modification times, and rescans the files' times and
// sizes when one changed (an add, a delete, a rename, which is how git and
// most editors write) or when the last full scan is older than Rescan (for
// files rewritten in place). The index (memdir.Layout.Index) is derived and
// may be deleted at any time; it is rebuilt from the files.
//
// Several processes may read and write one memory at once: a note is
// written to a temporary file and linked to its name, so that two writers
// never take the same ID and a reader never sees half a note; the index is
// in WAL mode and every write to it happens under a lock file
// (pkg/lockfile).
//
// The file format and the layout are a contract (see package memdir); the
// Go API is implementation.
package memory

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/memory/memdir"
	"github.com/ce-platform/ce/pkg/statedir"
)

// DefaultRescan is how old the last full scan may be before a command scans
// the files again although no directory changed.
const DefaultRescan = time.Second

// lockTimeout bounds the wait for another writer of the index (a full
// reindex of 10k notes takes about 2 s).
const lockTimeout = 60 * time.Second

// Options say where a memory lives.
type Options struct {
	memdir.Layout
	// Rescan is DefaultRescan when zero; negative scans at every command.
	Rescan time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Store is an opened memory. It is safe for concurrent use, and several
// processes may open the same memory.
type Store struct {
	opts Options

	mu    sync.Mutex
	db    *sql.DB
	dbID  os.FileInfo // the index file the open db is, to notice it deleted
	built bool        // the schema is known to exist

	rebuilt  string // see Noticed
	problems []Note
}

// Open opens the memory of a state directory under cfg (nil: defaults).
func Open(st *statedir.Dir, cfg *config.Config) (*Store, error) {
	l, err := memdir.Locate(st, cfg)
	if err != nil {
		return nil, err
	}
	return OpenWith(Options{Layout: l})
}

// OpenWith opens a memory, creating its directories (0700) as needed. The
// index is opened on first use.
func OpenWith(o Options) (*Store, error) {
	if o.Notes == "" || o.Index == "" || o.Lock == "" {
		return nil, errors.New("memory: the notes directory, index and lock file must be set")
	}
	if o.Rescan == 0 {
		o.Rescan = DefaultRescan
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for _, d := range []string{o.Notes, filepath.Dir(o.Index), filepath.Dir(o.Lock)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
	}
	return &Store{opts: o}, nil
}

// Dir returns the notes directory.
func (s *Store) Dir() string { return s.opts.Notes }

// Close closes the index.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeDB()
}

func (s *Store) closeDB() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db, s.dbID, s.built = nil, nil, false
	return err
}

// path returns the file of a note ID.
func (s *Store) path(id string) string {
	return filepath.Join(s.opts.Notes, filepath.FromSlash(id)+".md")
}

// Get reads a note from its file; the index is not needed.
func (s *Store) Get(ctx context.Context, id string) (Note, error) {
	id, err := CheckID(id)
	if err != nil {
		return Note{}, err
	}
	p := s.path(id)
	data, fi, err := readFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Note{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Note{}, err
	}
	n := parse(id, data, fi.ModTime())
	n.Path = p
	return n, nil
}

// Raw returns the file of a note as it is.
func (s *Store) Raw(id string) ([]byte, string, error) {
	id, err := CheckID(id)
	if err != nil {
		return nil, "", err
	}
	p := s.path(id)
	data, _, err := readFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, p, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return data, p, err
}

// Path returns the file of a note that exists.
func (s *Store) Path(id string) (string, error) {
	id, err := CheckID(id)
	if err != nil {
		return "", err
	}
	p := s.path(id)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return p, nil
}

// readFile reads a regular file (following a symbolic link).
func readFile(p string) ([]byte, os.FileInfo, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", p)
	}
	data, err := os.ReadFile(p)
	return data, fi, err
}

// Add writes a new note and indexes it. The title defaults to the body's
// first heading or line; Created, Updated and ID are set here. The note is
// on disk when Add returns, even if indexing it failed (the error says so,
// and the next command indexes it).
func (s *Store) Add(ctx context.Context, n Note) (Note, error) {
	n.Title = cleanTitle(n.Title)
	if err := checkContent(n.Title + n.Body); err != nil {
		return Note{}, err
	}
	if strings.TrimSpace(n.Body) == "" {
		n.Body = ""
	}
	if n.Title == "" {
		n.Title = titleFrom(n.Body)
	}
	if n.Title == "" {
		return Note{}, ErrEmpty
	}
	n.Tags = normalizeTags(n.Tags)
	if err := checkTags(n.Tags); err != nil {
		return Note{}, err
	}
	now := s.opts.Now().UTC().Truncate(time.Second)
	n.Created, n.Updated, n.Problem = now, now, ""
	n.Source = strings.TrimSpace(n.Source)
	id, err := s.create(&n)
	if err != nil {
		return Note{}, err
	}
	n.ID, n.Path = id, s.path(id)
	fi, err := os.Stat(n.Path)
	if err != nil {
		return n, err
	}
	data, err := render(n)
	if err != nil {
		return n, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		return indexOne(tx, n, fi, hashOf(data))
	})
	if err != nil {
		return n, fmt.Errorf("note %s was saved as %s but not indexed: %w", n.ID, n.Path, err)
	}
	return n, nil
}

// create writes the note's file under a fresh ID: date-slug, then
// date-slug-2 and so on. The file is complete before it has its name (a
// hard link from a synced temporary file), and linking fails when the name
// is taken, so concurrent writers never overwrite each other.
func (s *Store) create(n *Note) (string, error) {
	base := n.Created.Format("20060102") + "-"
	if sl := slug(n.Title); sl != "" {
		base += sl
	} else {
		base += randomSuffix()
	}
	f, err := os.CreateTemp(s.opts.Notes, ".new-*.tmp")
	if err != nil {
		return "", fmt.Errorf("memory: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	for i := 1; i <= 1000; i++ {
		id := base
		switch {
		case i > 100:
			id = base + "-" + randomSuffix()
		case i > 1:
			id = base + "-" + strconv.Itoa(i)
		}
		n.ID = id
		data, err := render(*n)
		if err != nil {
			f.Close()
			return "", err
		}
		if err := rewrite(f, data); err != nil {
			f.Close()
			return "", fmt.Errorf("memory: write %s: %w", tmp, err)
		}
		err = os.Link(tmp, s.path(id))
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// A file system without hard links: create the name
			// exclusively and write it in place.
			err = writeExclusive(s.path(id), data)
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		f.Close()
		if err != nil {
			return "", fmt.Errorf("memory: %w", err)
		}
		return id, statedir.SyncDir(s.opts.Notes)
	}
	f.Close()
	return "", errors.New("memory: no free ID for the note")
}

// rewrite replaces the content of f with data and syncs it.
func rewrite(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Sync()
}

func randomSuffix() string {
	var b [5]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Remove deletes a note's file and drops it from the index.
func (s *Store) Remove(ctx context.Context, id string) error {
	id, err := CheckID(id)
	if err != nil {
		return err
	}
	p := s.path(id)
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	rmErr := os.Remove(p)
	if rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		return fmt.Errorf("memory: %w", rmErr)
	}
	if rmErr == nil {
		statedir.SyncDir(filepath.Dir(p))
	}
	var dropped int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		dropped, err = deleteNote(tx, id)
		return err
	})
	if err != nil {
		return err
	}
	if rmErr != nil && dropped == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return nil
}

// Edited re-reads a note after its file was changed in place (ce-memory
// edit): when its content differs from before, its front matter's updated
// time is set to now (other keys are kept), and it is indexed again.
func (s *Store) Edited(ctx context.Context, id string, before []byte) (Note, error) {
	id, err := CheckID(id)
	if err != nil {
		return Note{}, err
	}
	p := s.path(id)
	data, fi, err := readFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Note{}, fmt.Errorf("%w: %s (the file was removed)", ErrNotFound, id)
	}
	if err != nil {
		return Note{}, err
	}
	if string(data) != string(before) {
		if out, ok := touchUpdated(data, s.opts.Now().UTC().Truncate(time.Second)); ok {
			if err := statedir.WriteFile(p, out, fi.Mode().Perm()); err != nil {
				return Note{}, fmt.Errorf("memory: %w", err)
			}
			if data, fi, err = readFile(p); err != nil {
				return Note{}, err
			}
		}
	}
	n := parse(id, data, fi.ModTime())
	n.Path = p
	err = s.write(ctx, func(tx *sql.Tx) error { return indexOne(tx, n, fi, hashOf(data)) })
	return n, err
}

// writeExclusive creates p, failing when it exists, and writes data.
func writeExclusive(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(p)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(p)
		return err
	}
	return f.Close()
}

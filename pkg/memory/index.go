package memory

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/memory/memdir"
	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// schemaVersion changes when the index's tables do; an index of another
// version is rebuilt.
const schemaVersion = "1"

// racyWindow: a file or directory modified this close to a scan may have
// changed again after it was read within the same timestamp tick (file
// systems stamp times from a clock that ticks every 1 to 10 ms), so it is
// checked again at the next scan.
const racyWindow = 25 * time.Millisecond

const dropAll = `DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS tags; DROP TABLE IF EXISTS notes; DROP TABLE IF EXISTS dirs; DROP TABLE IF EXISTS meta;`

const schema = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirs(path TEXT PRIMARY KEY, mtime INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notes(
	rowid INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	mtime INTEGER NOT NULL,
	size INTEGER NOT NULL,
	hash INTEGER NOT NULL,
	title TEXT NOT NULL,
	tags TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	source TEXT NOT NULL,
	problem TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_updated ON notes(updated);
CREATE TABLE IF NOT EXISTS tags(tag TEXT NOT NULL, note INTEGER NOT NULL, PRIMARY KEY(tag, note)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_note ON tags(note);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(title, tags, body, tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
INSERT INTO fts(fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 1.0)');
`

// conn returns the open index, opening it when needed, and reopening it
// when the file was deleted or replaced.
func (s *Store) conn() (*sql.DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		fi, err := os.Stat(s.opts.Index)
		if err == nil && os.SameFile(fi, s.dbID) {
			return s.db, nil
		}
		s.closeDB()
	}
	// An index deleted by hand may leave its -wal file behind, and SQLite
	// would replay that log into the new, empty file.
	if _, err := os.Stat(s.opts.Index); errors.Is(err, fs.ErrNotExist) {
		os.Remove(s.opts.Index + "-wal")
		os.Remove(s.opts.Index + "-shm")
	}
	// Create the file first, so that it and its -wal and -shm files get
	// mode 0600 whatever the umask.
	f, err := os.OpenFile(s.opts.Index, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("memory index: %w", err)
	}
	f.Close()
	q := url.Values{}
	q.Set("_busy_timeout", strconv.Itoa(int(lockTimeout.Milliseconds())))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// A "file:" URI, escaped, so that any path works ('?', '#', '%').
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: s.opts.Index}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("memory index: %w", err)
	}
	db.SetMaxOpenConns(1)
	fi, err := os.Stat(s.opts.Index)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("memory index: %w", err)
	}
	s.db, s.dbID = db, fi
	return db, nil
}

// ensureSchema checks that the index has this version's tables: errNew
// when it has none, errRebuild when they are another version's.
func (s *Store) ensureSchema(ctx context.Context, db *sql.DB) error {
	s.mu.Lock()
	built := s.built
	s.mu.Unlock()
	if built {
		return nil
	}
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	if err == nil && v == schemaVersion {
		s.mu.Lock()
		s.built = true
		s.mu.Unlock()
		return nil
	}
	switch {
	case err == nil:
		return errRebuild
	case errors.Is(err, sql.ErrNoRows), isNoTable(err):
		return errNew
	}
	return err
}

// errNew and errRebuild say the index must be created from the files: it
// is new, or of another version.
var (
	errNew     = errors.New("memory index is new")
	errRebuild = errors.New("memory index is of another version")
)

func isNoTable(err error) bool { return err != nil && strings.Contains(err.Error(), "no such table") }

// isCorrupt reports whether err says the index file is damaged.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return true
		}
	}
	return false
}

// recreate deletes the index files; called under the lock.
func (s *Store) recreate() {
	s.mu.Lock()
	s.closeDB()
	s.mu.Unlock()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(s.opts.Index + suffix)
	}
}

// lock takes the index's lock file.
func (s *Store) lock(ctx context.Context) (*lockfile.Lock, error) {
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	return lockfile.Acquire(ctx, s.opts.Lock)
}

// write runs fn in a transaction under the lock, bringing the index up to
// date with the files first when it is new or must be rebuilt, and writes
// the digest after.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	l, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	_, err = s.syncLocked(ctx, false, false)
	if err != nil {
		return err
	}
	db, err := s.conn()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.writeDigest(ctx, db)
	return nil
}

// SyncReport says what a sync did.
type SyncReport struct {
	// Full is true when the files were scanned (not only the directories).
	Full bool `json:"full"`
	// Rebuilt says why an existing index was created again from scratch
	// ("" if it was not, or was new, or Reindex was asked).
	Rebuilt string `json:"rebuilt,omitempty"`
	Notes   int    `json:"notes"`
	Added   int    `json:"added"`
	Updated int    `json:"updated"`
	Removed int    `json:"removed"`
	// Problems are the notes read in this sync that have a Problem.
	Problems []Note        `json:"problems,omitempty"`
	Took     time.Duration `json:"took"`
}

// Changed reports whether the sync changed the index.
func (r SyncReport) Changed() bool { return r.Added+r.Updated+r.Removed > 0 || r.Rebuilt != "" }

// Sync brings the index up to date with the files. It is cheap when
// nothing changed: it compares the directories' modification times, and
// rescans the files only when one changed or the last full scan is older
// than Rescan. Search and List sync first.
func (s *Store) Sync(ctx context.Context) (SyncReport, error) {
	start := time.Now()
	dirty, err := s.dirty(ctx)
	if err != nil || !dirty {
		return SyncReport{Took: time.Since(start)}, err
	}
	l, err := s.lock(ctx)
	if err != nil {
		return SyncReport{}, err
	}
	defer l.Unlock()
	r, err := s.syncLocked(ctx, true, false)
	r.Took = time.Since(start)
	if err == nil {
		s.mu.Lock()
		s.problems = append(s.problems, r.Problems...)
		if r.Rebuilt != "" {
			s.rebuilt = r.Rebuilt
		}
		s.mu.Unlock()
	}
	return r, err
}

// Noticed returns what the syncs of this Store found since the last call:
// why the index was rebuilt ("" if it was not) and the notes read that
// have a problem. Commands print them after a search or a list, which sync
// by themselves.
func (s *Store) Noticed() (rebuilt string, problems []Note) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rebuilt, problems = s.rebuilt, s.problems
	s.rebuilt, s.problems = "", nil
	return rebuilt, problems
}

// Reindex rebuilds the index from every file.
func (s *Store) Reindex(ctx context.Context) (SyncReport, error) {
	start := time.Now()
	l, err := s.lock(ctx)
	if err != nil {
		return SyncReport{}, err
	}
	defer l.Unlock()
	r, err := s.syncLocked(ctx, true, true)
	r.Took = time.Since(start)
	return r, err
}

// dirty reports, without the lock, whether a full scan is due.
func (s *Store) dirty(ctx context.Context) (bool, error) {
	db, err := s.conn()
	if err != nil {
		return false, err
	}
	if err := s.ensureSchema(ctx, db); err != nil {
		if errors.Is(err, errNew) || errors.Is(err, errRebuild) || isCorrupt(err) {
			return true, nil
		}
		return false, err
	}
	var scanned int64
	var notesDir string
	rows, err := db.QueryContext(ctx, `SELECT key, value FROM meta WHERE key IN ('scanned', 'notes')`)
	if err != nil {
		return isCorrupt(err), ignoreCorrupt(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return false, err
		}
		switch k {
		case "scanned":
			scanned, _ = strconv.ParseInt(v, 10, 64)
		case "notes":
			notesDir = v
		}
	}
	rows.Close()
	now := time.Now()
	if notesDir != s.opts.Notes || scanned == 0 || s.opts.Rescan < 0 || now.Sub(time.Unix(0, scanned)) > s.opts.Rescan {
		return true, nil
	}
	rows, err = db.QueryContext(ctx, `SELECT path, mtime FROM dirs`)
	if err != nil {
		return isCorrupt(err), ignoreCorrupt(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p string
		var mtime int64
		if err := rows.Scan(&p, &mtime); err != nil {
			return false, err
		}
		n++
		fi, err := os.Stat(filepath.Join(s.opts.Notes, filepath.FromSlash(p)))
		if err != nil || fi.ModTime().UnixNano() != mtime || mtime > scanned-int64(racyWindow) {
			return true, nil
		}
	}
	if n == 0 {
		return true, rows.Err()
	}
	if _, err := os.Stat(s.opts.Digest); s.opts.Digest != "" && errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	return false, rows.Err()
}

func ignoreCorrupt(err error) error {
	if isCorrupt(err) {
		return nil
	}
	return err
}

// syncLocked scans the files and applies the differences, under the lock.
// With full false it only makes sure the index exists; with rebuild true
// it starts from an empty index.
func (s *Store) syncLocked(ctx context.Context, full, rebuild bool) (SyncReport, error) {
	var r SyncReport
	db, err := s.conn()
	if err != nil {
		return r, err
	}
	err = s.ensureSchema(ctx, db)
	switch {
	case err == nil:
	case isCorrupt(err):
		r.Rebuilt = "the index file was damaged (" + err.Error() + ")"
		rebuild = true
	case errors.Is(err, errNew):
		rebuild = true
	case errors.Is(err, errRebuild):
		r.Rebuilt = "the index was made by another version of ce"
		rebuild = true
	default:
		return r, err
	}
	if !full && !rebuild {
		return r, nil
	}
	r.Full = true
	err = s.scan(ctx, &r, rebuild)
	if isCorrupt(err) {
		r = SyncReport{Full: true, Rebuilt: "the index file was damaged (" + err.Error() + ")"}
		s.recreate()
		err = s.scan(ctx, &r, true)
	}
	return r, err
}

// fileInfo is what a scan learns of one note file.
type fileInfo struct {
	id    string
	mtime int64
	size  int64
}

// indexed is what the index holds of one note's file.
type indexed struct {
	rowid, mtime, size, hash int64
}

// stamp is one file's part of the fingerprint of the notes directory.
func stamp(id string, mtime, size int64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(mtime))
	binary.LittleEndian.PutUint64(b[8:], uint64(size))
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write(b[:])
	return h.Sum64()
}

// fingerprint sums the stamps of files: equal sums mean the same names,
// times and sizes, whatever the order, and Add and Remove keep the sum up
// to date without a scan.
func fingerprint(files []fileInfo) uint64 {
	var sum uint64
	for _, f := range files {
		sum += stamp(f.id, f.mtime, f.size)
	}
	return sum
}

// scan compares the files with the index and applies the differences in
// one transaction. When the fingerprint of the files equals the index's,
// only the files modified since the last scan are read again.
func (s *Store) scan(ctx context.Context, r *SyncReport, rebuild bool) error {
	db, err := s.conn()
	if err != nil {
		return err
	}
	start := time.Now()
	files, dirs, err := walk(s.opts.Notes)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if rebuild {
		// In the transaction: readers see the old index until the new one
		// is complete.
		if _, err := tx.ExecContext(ctx, dropAll+schema); err != nil {
			return err
		}
	}
	racy, same, err := lastScan(ctx, tx, files, rebuild)
	if err != nil {
		return err
	}
	var have map[string]indexed
	var todo []fileInfo
	if same {
		have, todo, err = modifiedSince(ctx, tx, files, racy)
	} else {
		have, todo, err = changedFiles(ctx, tx, files, racy)
	}
	if err != nil {
		return err
	}
	ix := newIndexer(tx)
	defer ix.close()
	if err := s.indexFiles(ctx, tx, ix, todo, have, r); err != nil {
		return err
	}
	if !same {
		if err := dropMissing(ix, files, have, r); err != nil {
			return err
		}
	}
	if err := s.recordScan(ctx, tx, start, files, dirs, r); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	s.built = true
	s.mu.Unlock()
	if rebuild || r.Changed() || s.opts.Digest != "" && !exists(s.opts.Digest) {
		s.writeDigest(ctx, db)
	}
	return nil
}

// lastScan returns the time from which a file may have changed unseen by
// the last scan (a timestamp tick before it), and whether files are the
// same names, times and sizes as that scan found. After a rebuild there
// was no last scan.
func lastScan(ctx context.Context, tx *sql.Tx, files []fileInfo, rebuild bool) (racy int64, same bool, err error) {
	var prevScan int64
	if !rebuild {
		meta, err := readMeta(ctx, tx)
		if err != nil {
			return 0, false, err
		}
		prevScan, _ = strconv.ParseInt(meta["scanned"], 10, 64)
		same = meta["fingerprint"] == strconv.FormatUint(fingerprint(files), 10)
	}
	return prevScan - int64(racyWindow), same, nil
}

// modifiedSince picks, among files that are the same as indexed, those
// that may have changed within a timestamp tick of the last scan (modified
// after racy), and returns them with what the index holds of them.
func modifiedSince(ctx context.Context, tx *sql.Tx, files []fileInfo, racy int64) (map[string]indexed, []fileInfo, error) {
	have := map[string]indexed{}
	var todo []fileInfo
	for _, f := range files {
		if f.mtime <= racy {
			continue
		}
		var x indexed
		err := tx.QueryRowContext(ctx, `SELECT rowid, mtime, size, hash FROM notes WHERE id = ?`, f.id).Scan(&x.rowid, &x.mtime, &x.size, &x.hash)
		if err == nil {
			have[f.id] = x
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, nil, err
		}
		todo = append(todo, f)
	}
	return have, todo, nil
}

// changedFiles returns every note the index holds, and the files that are
// new, differ in time or size from their note, or were indexed within a
// timestamp tick of the last scan (after racy).
func changedFiles(ctx context.Context, tx *sql.Tx, files []fileInfo, racy int64) (map[string]indexed, []fileInfo, error) {
	have := map[string]indexed{}
	rows, err := tx.QueryContext(ctx, `SELECT rowid, id, mtime, size, hash FROM notes`)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id string
		var x indexed
		if err := rows.Scan(&x.rowid, &id, &x.mtime, &x.size, &x.hash); err != nil {
			rows.Close()
			return nil, nil, err
		}
		have[id] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var todo []fileInfo
	for _, f := range files {
		x, ok := have[f.id]
		if !ok || x.mtime != f.mtime || x.size != f.size || x.mtime > racy {
			todo = append(todo, f)
		}
	}
	return have, todo, nil
}

// indexFiles reads todo and indexes each file whose content differs from
// what have says the index holds, counting what changed in r; a file with
// the same content only gets its new time and size.
func (s *Store) indexFiles(ctx context.Context, tx *sql.Tx, ix *indexer, todo []fileInfo, have map[string]indexed, r *SyncReport) error {
	// Read the files several at a time; index them in order.
	read := readAll(s.opts.Notes, todo)
	for i, f := range todo {
		got := read[i]
		if got.err != nil {
			if errors.Is(got.err, fs.ErrNotExist) {
				continue // deleted since the walk: its directory changed, so the next sync drops it
			}
			return got.err
		}
		x, ok := have[f.id]
		if ok && x.hash == got.hash {
			if x.mtime != f.mtime || x.size != f.size {
				if _, err := tx.ExecContext(ctx, `UPDATE notes SET mtime = ?, size = ? WHERE rowid = ?`, f.mtime, f.size, x.rowid); err != nil {
					return err
				}
			}
			continue
		}
		n := got.note
		n.Path = s.path(f.id)
		rowid := int64(0)
		if ok {
			rowid = x.rowid
		}
		if err := ix.put(rowid, n, f.mtime, f.size, got.hash); err != nil {
			return err
		}
		if ok {
			r.Updated++
		} else {
			r.Added++
		}
		if n.Problem != "" {
			r.Problems = append(r.Problems, n)
		}
	}
	return nil
}

// dropMissing removes from the index the notes of have that are not among
// files, counting them in r.
func dropMissing(ix *indexer, files []fileInfo, have map[string]indexed, r *SyncReport) error {
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f.id] = true
	}
	for id, x := range have {
		if !present[id] {
			if err := ix.drop(x.rowid); err != nil {
				return err
			}
			r.Removed++
		}
	}
	return nil
}

// recordScan stores what the next sync compares with, the directories'
// times and the files' fingerprint, and counts the notes into r.
func (s *Store) recordScan(ctx context.Context, tx *sql.Tx, start time.Time, files []fileInfo, dirs map[string]int64, r *SyncReport) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM dirs`); err != nil {
		return err
	}
	for p, mtime := range dirs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dirs(path, mtime) VALUES(?, ?)`, p, mtime); err != nil {
			return err
		}
	}
	meta := map[string]string{
		"schema":      schemaVersion,
		"notes":       s.opts.Notes,
		"scanned":     strconv.FormatInt(start.UnixNano(), 10),
		"fingerprint": strconv.FormatUint(fingerprint(files), 10),
	}
	if err := writeMeta(ctx, tx, meta); err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&r.Notes)
}

func readMeta(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

func writeMeta(ctx context.Context, tx *sql.Tx, m map[string]string) error {
	for k, v := range m {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return err
		}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// walk lists the note files (*.md, not hidden, in the directory and its
// subdirectories) and the modification times of the directories, each
// taken before the directory is read.
func walk(root string) ([]fileInfo, map[string]int64, error) {
	var files []fileInfo
	dirs := map[string]int64{}
	var visit func(rel string) error
	visit = func(rel string) error {
		dir := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Stat(dir)
		if err != nil {
			if rel != "" && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		dirs[rel] = fi.ModTime().UnixNano()
		ents, err := readDir(dir)
		if err != nil {
			if rel != "" && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var names []string
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			child := path.Join(rel, name)
			switch {
			case e.IsDir():
				if err := visit(child); err != nil {
					return err
				}
			case strings.HasSuffix(name, ".md") && len(name) > 3 && (e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0):
				names = append(names, name)
			}
		}
		files = append(files, statAll(root, rel, names)...)
		return nil
	}
	if err := visit(""); err != nil {
		return nil, nil, fmt.Errorf("memory: read the notes directory: %w", err)
	}
	return files, dirs, nil
}

// readDir is os.ReadDir without the sort.
func readDir(dir string) ([]os.DirEntry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// statAll stats the files of one directory, several at a time and
// relative to the open directory (a stat is a system call, and 10k of them
// by full path one after the other take 10 ms).
func statAll(root, rel string, names []string) []fileInfo {
	out := make([]fileInfo, len(names))
	ok := make([]bool, len(names))
	dir, err := os.Open(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	defer dir.Close()
	fd := int(dir.Fd())
	parallel(len(names), func(i int) {
		var st unix.Stat_t
		if unix.Fstatat(fd, names[i], &st, 0) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return
		}
		out[i] = fileInfo{id: strings.TrimSuffix(path.Join(rel, names[i]), ".md"), mtime: st.Mtim.Nano(), size: st.Size}
		ok[i] = true
	})
	files := out[:0]
	for i := range out {
		if ok[i] {
			files = append(files, out[i])
		}
	}
	return files
}

type readResult struct {
	note Note
	hash int64
	err  error
}

func readAll(root string, todo []fileInfo) []readResult {
	out := make([]readResult, len(todo))
	parallel(len(todo), func(i int) {
		f := todo[i]
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f.id)+".md"))
		if err != nil {
			out[i].err = err
			return
		}
		out[i] = readResult{note: parse(f.id, data, time.Unix(0, f.mtime)), hash: hashOf(data)}
	})
	return out
}

// parallel calls fn(0..n-1) on a few goroutines.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0)*2, 8, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}(w)
	}
	wg.Wait()
}

func hashOf(data []byte) int64 {
	h := fnv.New64a()
	h.Write(data)
	return int64(h.Sum64())
}

// indexer writes notes into the index with prepared statements. Each
// statement changes one row, so none needs a statement journal: FTS5 then
// keeps its pending terms in memory until the commit instead of flushing
// them at every statement, which makes a reindex several times faster.
type indexer struct {
	tx                                                         *sql.Tx
	insNote, updNote, insFTS, delFTS, delTags, insTag, delNote *sql.Stmt
	err                                                        error
}

func newIndexer(tx *sql.Tx) *indexer {
	ix := &indexer{tx: tx}
	prep := func(q string) *sql.Stmt {
		if ix.err != nil {
			return nil
		}
		st, err := tx.Prepare(q)
		ix.err = err
		return st
	}
	ix.insNote = prep(`INSERT INTO notes(id, mtime, size, hash, title, tags, created, updated, source, problem) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	ix.updNote = prep(`UPDATE notes SET id = ?, mtime = ?, size = ?, hash = ?, title = ?, tags = ?, created = ?, updated = ?, source = ?, problem = ? WHERE rowid = ?`)
	ix.insFTS = prep(`INSERT INTO fts(rowid, title, tags, body) VALUES(?, ?, ?, ?)`)
	ix.delFTS = prep(`DELETE FROM fts WHERE rowid = ?`)
	ix.delTags = prep(`DELETE FROM tags WHERE note = ?`)
	ix.insTag = prep(`INSERT OR IGNORE INTO tags(tag, note) VALUES(?, ?)`)
	ix.delNote = prep(`DELETE FROM notes WHERE rowid = ?`)
	return ix
}

func (ix *indexer) close() {
	for _, st := range []*sql.Stmt{ix.insNote, ix.updNote, ix.insFTS, ix.delFTS, ix.delTags, ix.insTag, ix.delNote} {
		if st != nil {
			st.Close()
		}
	}
}

// put writes a note: a new one when rowid is 0, else over that row.
func (ix *indexer) put(rowid int64, n Note, mtime, size, hash int64) error {
	if ix.err != nil {
		return ix.err
	}
	tags := strings.Join(n.Tags, " ")
	args := []any{n.ID, mtime, size, hash, n.Title, tags, n.Created.UnixNano(), n.Updated.UnixNano(), n.Source, n.Problem}
	if rowid == 0 {
		res, err := ix.insNote.Exec(args...)
		if err != nil {
			return err
		}
		if rowid, err = res.LastInsertId(); err != nil {
			return err
		}
	} else {
		if _, err := ix.updNote.Exec(append(args, rowid)...); err != nil {
			return err
		}
		if _, err := ix.delFTS.Exec(rowid); err != nil {
			return err
		}
		if _, err := ix.delTags.Exec(rowid); err != nil {
			return err
		}
	}
	if _, err := ix.insFTS.Exec(rowid, n.Title, tags, n.Body); err != nil {
		return err
	}
	for _, t := range n.Tags {
		if _, err := ix.insTag.Exec(t, rowid); err != nil {
			return err
		}
	}
	return nil
}

// drop deletes a note's rows.
func (ix *indexer) drop(rowid int64) error {
	if ix.err != nil {
		return ix.err
	}
	for _, st := range []*sql.Stmt{ix.delFTS, ix.delTags, ix.delNote} {
		if _, err := st.Exec(rowid); err != nil {
			return err
		}
	}
	return nil
}

// indexOne writes one note that was added or edited outside a scan, and
// moves the fingerprint from the file's old stamp to its new one.
func indexOne(tx *sql.Tx, n Note, fi os.FileInfo, hash int64) error {
	var x indexed
	err := tx.QueryRow(`SELECT rowid, mtime, size FROM notes WHERE id = ?`, n.ID).Scan(&x.rowid, &x.mtime, &x.size)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	ix := newIndexer(tx)
	defer ix.close()
	mtime, size := fi.ModTime().UnixNano(), fi.Size()
	if err := ix.put(x.rowid, n, mtime, size, hash); err != nil {
		return err
	}
	var delta uint64
	if x.rowid != 0 {
		delta -= stamp(n.ID, x.mtime, x.size)
	}
	return moveFingerprint(tx, delta+stamp(n.ID, mtime, size))
}

// deleteNote drops a note from the index and says how many were dropped.
func deleteNote(tx *sql.Tx, id string) (int64, error) {
	var x indexed
	err := tx.QueryRow(`SELECT rowid, mtime, size FROM notes WHERE id = ?`, id).Scan(&x.rowid, &x.mtime, &x.size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	ix := newIndexer(tx)
	defer ix.close()
	if err := ix.drop(x.rowid); err != nil {
		return 0, err
	}
	return 1, moveFingerprint(tx, -stamp(id, x.mtime, x.size))
}

// moveFingerprint adds delta to the index's fingerprint (modulo 2^64).
func moveFingerprint(tx *sql.Tx, delta uint64) error {
	var v string
	err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'fingerprint'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no scan yet: the next one computes it
	}
	if err != nil {
		return err
	}
	sum, _ := strconv.ParseUint(v, 10, 64)
	_, err = tx.Exec(`UPDATE meta SET value = ? WHERE key = 'fingerprint'`, strconv.FormatUint(sum+delta, 10))
	return err
}

// writeDigest writes the digest of the most recently updated notes. The
// digest is a convenience for prompts: failing to write it fails nothing.
func (s *Store) writeDigest(ctx context.Context, db *sql.DB) {
	if s.opts.Digest == "" {
		return
	}
	d := memdir.Digest{Written: s.opts.Now().UTC(), Recent: []memdir.Entry{}}
	if db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&d.Notes) != nil {
		return
	}
	rows, err := db.QueryContext(ctx, `SELECT id, title, tags, updated FROM notes ORDER BY updated DESC, id LIMIT ?`, memdir.MaxRecent)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var e memdir.Entry
		var tags string
		var updated int64
		if rows.Scan(&e.ID, &e.Title, &tags, &updated) != nil {
			return
		}
		e.Tags = splitTags(tags)
		e.Updated = time.Unix(0, updated).UTC()
		d.Recent = append(d.Recent, e)
	}
	if rows.Err() == nil {
		memdir.WriteDigest(s.opts.Digest, d)
	}
}

func splitTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

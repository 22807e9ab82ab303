// Package memdir provides where ce's memory lives on disk and the digest of
// its most recently updated notes, without the search engine: the queue
// worker lists those titles in a session's system prompt, and must not link
// SQLite to do so (package memory, which keeps the index, writes the digest
// whenever the index changes).
//
// The layout and the digest's JSON form are a contract: the notes are
// Markdown files under the notes directory (memory/ in the state directory,
// or memory.dir), and memory/.index/ in the state directory holds what is
// derived from them: index.db (SQLite, with its -wal and -shm files) and
// digest.json. Deleting the derived files loses nothing. They are kept in
// a directory of their own because a command notices notes added or
// removed by the notes directory's modification time, which SQLite's
// files would change at every command.
package memdir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/statedir"
)

// Layout names the files of one memory.
type Layout struct {
	// Notes is the directory of the notes, one Markdown file each.
	Notes string
	// Index is the SQLite full-text index derived from the notes.
	Index string
	// Digest is the digest file (see Digest).
	Digest string
	// Lock is the lock file that writers of the index hold.
	Lock string
}

// Locate returns the memory layout of a state directory under cfg (nil
// means the defaults).
func Locate(st *statedir.Dir, cfg *config.Config) (Layout, error) {
	m := config.Default().Memory
	if cfg != nil {
		m = cfg.Memory
	}
	notes, err := m.NotesDir(st.Root)
	if err != nil {
		return Layout{}, fmt.Errorf("memory.dir: %v", err)
	}
	derived := st.Path("memory", ".index")
	return Layout{
		Notes:  notes,
		Index:  filepath.Join(derived, "index.db"),
		Digest: filepath.Join(derived, "digest.json"),
		Lock:   st.Lock("memory"),
	}, nil
}

// MaxRecent is how many notes a digest lists at most.
const MaxRecent = config.MaxPromptNotes

// Digest is a summary of the memory: how many notes it holds and the most
// recently updated ones, newest first.
type Digest struct {
	Notes   int       `json:"notes"`
	Written time.Time `json:"written"`
	Recent  []Entry   `json:"recent"`
}

// Entry is one note of a digest.
type Entry struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Tags    []string  `json:"tags,omitempty"`
	Updated time.Time `json:"updated"`
}

// ReadDigest reads a digest; a missing file is os.ErrNotExist.
func ReadDigest(path string) (Digest, error) {
	var d Digest
	b, err := os.ReadFile(path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %v", path, err)
	}
	return d, nil
}

// WriteDigest replaces the digest at path. It is derived data, so it is
// renamed into place (readers never see a part) but not fsynced.
func WriteDigest(path string, d Digest) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}

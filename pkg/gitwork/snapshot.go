package gitwork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Snapshot is the working state of a checkout written as git objects.
type Snapshot struct {
	// Dir is the checkout's top level.
	Dir string
	// Head is the commit HEAD points at.
	Head string
	// HeadTree is Head's tree.
	HeadTree string
	// Tree holds every tracked and untracked, not ignored, file as it is
	// on disk.
	Tree string
}

// Dirty reports whether the working state differs from HEAD: there are
// uncommitted changes or untracked files.
func (s Snapshot) Dirty() bool { return s.Tree != s.HeadTree }

// Snapshot writes the working state of the checkout at dir as a tree
// without touching the checkout's index: git add -A runs on a copy of the
// index (GIT_INDEX_FILE) in a temporary directory. Starting from a copy
// rather than from HEAD keeps the stat data, so that unchanged files are not
// hashed again, and keeps sparse-checkout entries. The copy keeps the
// index's modification time, which git compares with files' times to
// detect changes made in the same second as the index (racy git).
func (r *Repo) Snapshot(ctx context.Context, dir string) (Snapshot, error) {
	out, err := r.query(ctx, dir, "rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir", "HEAD^{commit}", "HEAD^{tree}")
	if err != nil {
		return Snapshot{}, fmt.Errorf("cannot read the state of %s: %w", dir, err)
	}
	l := lines(out)
	if len(l) != 4 {
		return Snapshot{}, fmt.Errorf("git rev-parse in %s printed %q: expected a top level, a git dir, a commit and a tree", dir, out)
	}
	s := Snapshot{Dir: l[0], Head: l[2], HeadTree: l[3]}
	tmp, err := os.MkdirTemp("", "ce-gitwork-index-")
	if err != nil {
		return Snapshot{}, err
	}
	defer os.RemoveAll(tmp)
	index := filepath.Join(tmp, "index")
	env := []string{"GIT_INDEX_FILE=" + index}
	copied, err := copyIndex(filepath.Join(l[1], "index"), index)
	if err != nil {
		return Snapshot{}, fmt.Errorf("cannot copy the index of %s: %w", s.Dir, err)
	}
	if !copied {
		if _, err := r.run(ctx, gitCmd{dir: s.Dir, env: env, args: []string{"read-tree", s.Head}}); err != nil {
			return Snapshot{}, err
		}
	}
	if _, err := r.run(ctx, gitCmd{dir: s.Dir, env: env, query: true, args: []string{"add", "-A", "--", "."}}); err != nil {
		return Snapshot{}, fmt.Errorf("cannot snapshot the files of %s: %w", s.Dir, err)
	}
	res, err := r.run(ctx, gitCmd{dir: s.Dir, env: env, query: true, args: []string{"write-tree"}})
	if err != nil {
		return Snapshot{}, err
	}
	s.Tree = trim(res.out)
	return s, nil
}

// copyIndex copies src to dst with src's modification time and reports
// false when src does not exist.
func copyIndex(src, dst string) (bool, error) {
	in, err := os.Open(src)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return false, err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return false, err
	}
	if err := out.Close(); err != nil {
		return false, err
	}
	return true, os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

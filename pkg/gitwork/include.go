package gitwork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Included lists the files of the checkout at dir that new worktrees get
// copies of: untracked files matching a pattern of its top-level
// .worktreeinclude that git also ignores. Tracked files are never listed
// (the checkout brings them), and neither are untracked files git does not
// ignore, which would show up as an agent's own work.
func (r *Repo) Included(ctx context.Context, dir string) ([]string, error) {
	c, err := r.Inspect(ctx, dir)
	if err != nil {
		return nil, err
	}
	patterns := filepath.Join(c.Dir, IncludeFile)
	if _, err := os.Stat(patterns); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	matched, err := r.query(ctx, c.Dir, "ls-files", "-z", "--others", "--ignored", "--exclude-from="+patterns)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", patterns, err)
	}
	ignored, err := r.query(ctx, c.Dir, "ls-files", "-z", "--others", "--ignored", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	isIgnored := map[string]bool{}
	for _, p := range fields0(ignored) {
		isIgnored[p] = true
	}
	var files []string
	for _, p := range fields0(matched) {
		// a trailing slash marks a nested repository, which is not copied
		if isIgnored[p] && !strings.HasSuffix(p, "/") {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	return files, nil
}

// copyIncluded copies Included(from) into the worktree at to, keeping
// modes and symbolic links, and never overwriting a file the checkout made.
func (r *Repo) copyIncluded(ctx context.Context, from, to string) ([]string, error) {
	files, err := r.Included(ctx, from)
	if err != nil {
		return nil, err
	}
	var copied []string
	for _, rel := range files {
		ok, err := copyEntry(filepath.Join(from, rel), filepath.Join(to, rel))
		if err != nil {
			return copied, err
		}
		if ok {
			copied = append(copied, rel)
		}
	}
	return copied, nil
}

func copyEntry(src, dst string) (bool, error) {
	fi, err := os.Lstat(src)
	if err != nil {
		return false, err
	}
	if _, err := os.Lstat(dst); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return false, err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		return true, os.Symlink(target, dst)
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return false, err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err != nil {
			return false, err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			os.Remove(dst)
			return false, err
		}
		return true, out.Close()
	}
	return false, nil
}

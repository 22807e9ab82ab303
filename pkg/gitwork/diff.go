package gitwork

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// File is one changed path between two trees.
type File struct {
	// Path is the path after the change.
	Path string
	// OldPath is the path before a rename or copy, else "".
	OldPath string
	// Status is git's letter: A added, M modified, D deleted, R renamed,
	// C copied, T type changed.
	Status string
	// Added and Deleted count lines; both are 0 for binary files.
	Added, Deleted int
	Binary         bool
}

func (f File) String() string {
	if f.OldPath != "" {
		return fmt.Sprintf("%s %s -> %s", f.Status, f.OldPath, f.Path)
	}
	return f.Status + " " + f.Path
}

// changes lists the files that differ between two tree-ish objects, with
// renames detected and line counts.
func (r *Repo) changes(ctx context.Context, dir, from, to string, paths []string) ([]File, error) {
	args := []string{"diff-tree", "-r", "-z", "-M", "--raw", "--numstat", from, to, "--"}
	out, err := r.query(ctx, dir, append(args, paths...)...)
	if err != nil {
		return nil, err
	}
	return parseChanges(fields0(out))
}

// parseChanges reads diff-tree -z --raw --numstat output: all raw records
// (":mode mode oid oid status", then one or two paths), then one numstat
// record per file in the same order ("added\tdeleted\tpath", or
// "added\tdeleted\t" and two paths for a rename).
func parseChanges(f []string) ([]File, error) {
	var files []File
	i := 0
	for ; i < len(f) && strings.HasPrefix(f[i], ":"); i++ {
		meta := strings.Fields(f[i])
		if len(meta) != 5 || i+1 >= len(f) {
			return nil, fmt.Errorf("unexpected git diff-tree output %q", f[i])
		}
		st := meta[4]
		file := File{Status: st[:1]}
		if st[0] == 'R' || st[0] == 'C' {
			if i+2 >= len(f) {
				return nil, fmt.Errorf("unexpected git diff-tree output %q", f[i])
			}
			file.OldPath, file.Path = f[i+1], f[i+2]
			i += 2
		} else {
			file.Path = f[i+1]
			i++
		}
		files = append(files, file)
	}
	for n := 0; i < len(f) && n < len(files); n++ {
		parts := strings.SplitN(f[i], "\t", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("unexpected git diff-tree numstat output %q", f[i])
		}
		if parts[0] == "-" && parts[1] == "-" {
			files[n].Binary = true
		} else {
			files[n].Added, _ = strconv.Atoi(parts[0])
			files[n].Deleted, _ = strconv.Atoi(parts[1])
		}
		i++
		if parts[2] == "" {
			i += 2
		}
	}
	return files, nil
}

// DiffOptions selects what Diff returns.
type DiffOptions struct {
	// Base is the commit to compare with; "" means the base recorded when
	// the worktree was created.
	Base string
	// StatOnly returns the file list with line counts and no patch.
	StatOnly bool
	// Paths limits the diff to git pathspecs ("src/", "*.go").
	Paths []string
	// Offset and Limit page through the patch text in bytes; Limit 0
	// means no limit.
	Offset, Limit int
}

// Diff is a worktree's working state compared with its base.
type Diff struct {
	// Base is the base commit; Tree is the working state's tree.
	Base, Tree string
	// Files lists every changed file; binary ones have Binary set and
	// show as "Binary files ... differ" in the patch.
	Files []File
	// Patch is the page of the patch text from Offset.
	Patch string
	// Offset is where Patch starts and Size the length of the whole
	// patch, both in bytes.
	Offset, Size int
	// Truncated reports that the patch goes on after this page; Next is
	// the offset of the next page.
	Truncated bool
	Next      int
}

// Diff compares the worktree at dir, including uncommitted and untracked
// files, with its base commit. It leaves the worktree's index untouched.
func (r *Repo) Diff(ctx context.Context, dir string, opt DiffOptions) (Diff, error) {
	if opt.Offset < 0 || opt.Limit < 0 {
		return Diff{}, fmt.Errorf("diff offset and limit must not be negative (got %d and %d)", opt.Offset, opt.Limit)
	}
	base, err := r.base(ctx, dir, opt.Base)
	if err != nil {
		return Diff{}, err
	}
	snap, err := r.Snapshot(ctx, dir)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Base: base, Tree: snap.Tree, Offset: opt.Offset}
	if d.Files, err = r.changes(ctx, snap.Dir, base, snap.Tree, opt.Paths); err != nil {
		return Diff{}, err
	}
	if opt.StatOnly {
		return d, nil
	}
	args := append([]string{"diff-tree", "-r", "-p", "-M", base, snap.Tree, "--"}, opt.Paths...)
	patch, err := r.query(ctx, snap.Dir, args...)
	if err != nil {
		return Diff{}, err
	}
	d.Size = len(patch)
	start := min(opt.Offset, len(patch))
	end := len(patch)
	if opt.Limit > 0 && start+opt.Limit < end {
		end = start + opt.Limit
		// end a page on a whole character; the next page starts there
		for end > start && !utf8.RuneStart(patch[end]) {
			end--
		}
		if end == start {
			end = start + opt.Limit
		}
		d.Truncated = true
		d.Next = end
	}
	d.Patch = string(patch[start:end])
	return d, nil
}

package gitwork

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GCOptions selects what GC looks at.
type GCOptions struct {
	// BranchPrefix selects the branches (and the worktrees on them) that
	// are ce's, e.g. "ce/".
	BranchPrefix string
	// Root, when set, is the directory whose immediate subdirectories are
	// ce's worktrees: worktrees there count whatever their branch, and
	// subdirectories git no longer knows are reported.
	Root string
	// Owned reports whether a live agent owns a branch or worktree path
	// (either may be ""); GC leaves those alone. It is required, and is
	// called with the repository lock held, so it must not call the
	// Repo's methods.
	Owned func(branch, path string) bool
	// Target is the revision work must be merged into; "" means the main
	// worktree's HEAD.
	Target string
	// DryRun lists without removing anything.
	DryRun bool
}

// GCKind is what a GC item is: a worktree (with its branch), a branch
// without a worktree, or a directory under Root that git does not know.
type GCKind string

const (
	GCWorktree  GCKind = "worktree"
	GCBranch    GCKind = "branch"
	GCDirectory GCKind = "directory"
)

// GCState is GC's verdict on an item.
type GCState string

const (
	// GCMerged: the target holds all of it (by content); removable.
	GCMerged GCState = "merged"
	// GCArchived: an archive ref holds its tip and working state;
	// removable.
	GCArchived GCState = "archived"
	// GCUnmerged: it holds work found nowhere else; kept.
	GCUnmerged GCState = "unmerged"
	// GCVanished: a worktree whose directory is gone; git's record of it
	// is pruned (its branch is judged as a branch).
	GCVanished GCState = "vanished"
	// GCUnknown: a directory whose content GC cannot account for; kept.
	GCUnknown GCState = "unknown"
)

// GCItem is one thing GC found that no agent owns.
type GCItem struct {
	Kind   GCKind
	Branch string
	Path   string
	State  GCState
	// Detail says why, for people.
	Detail string
	// Removed reports that GC removed it (never in a dry run).
	Removed bool
	// Err is why removing it failed.
	Err error
}

// Removable reports whether GC removes an item of this state.
func (s GCState) Removable() bool {
	return s == GCMerged || s == GCArchived || s == GCVanished
}

// GC finds the worktrees, branches and directories under opt's prefix and
// root that no agent owns, judges each, and removes only what is provably
// merged into the target or archived (and records of vanished worktrees),
// all under the repository lock. Removal failures are reported per item and
// joined into the error.
func (r *Repo) GC(ctx context.Context, opt GCOptions) ([]GCItem, error) {
	if opt.Owned == nil {
		return nil, errors.New("garbage collection needs to know what agents own: pass an Owned function")
	}
	if opt.BranchPrefix == "" && opt.Root == "" {
		return nil, errors.New("garbage collection needs a branch prefix (e.g. ce/) or a worktree root to look in")
	}
	h, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer h.unlock()
	target, tname, err := r.target(ctx, opt.Target)
	if err != nil {
		return nil, err
	}
	targetTree, err := r.query(ctx, r.CommonDir, "rev-parse", target+"^{tree}")
	if err != nil {
		return nil, err
	}
	archives, err := r.archives(ctx)
	if err != nil {
		return nil, err
	}
	wts, err := r.Worktrees(ctx)
	if err != nil {
		return nil, err
	}
	root := ""
	if opt.Root != "" {
		root = canonical(opt.Root)
	}
	inRoot := func(p string) bool {
		return root != "" && filepath.Dir(canonical(p)) == root
	}
	ours := func(branch string) bool {
		return opt.BranchPrefix != "" && strings.HasPrefix(branch, opt.BranchPrefix)
	}

	var items []GCItem
	var errs []error
	remove := func(it *GCItem, f func() error) {
		if opt.DryRun || !it.State.Removable() {
			return
		}
		if err := f(); err != nil {
			it.Err = err
			errs = append(errs, err)
			return
		}
		it.Removed = true
	}

	busy := map[string]bool{} // branches a kept worktree has checked out
	known := map[string]bool{}
	for _, w := range wts {
		known[canonical(w.Path)] = true
		inScope := !w.Main && !w.Bare && (ours(w.Branch) || inRoot(w.Path))
		if !inScope || opt.Owned(w.Branch, w.Path) {
			busy[w.Branch] = true
			continue
		}
		it := GCItem{Kind: GCWorktree, Branch: w.Branch, Path: w.Path}
		if w.Missing {
			it.State, it.Detail = GCVanished, "the directory is gone; git's record of it is pruned"
			remove(&it, func() error { return r.removeWorktree(ctx, h, w.Path) })
			if it.Err != nil {
				busy[w.Branch] = true // still checked out as far as git knows
			}
			items = append(items, it)
			continue
		}
		busy[w.Branch] = true
		snap, err := r.Snapshot(ctx, w.Path)
		if err != nil {
			it.State, it.Detail, it.Err = GCUnknown, "cannot read its state", err
			items = append(items, it)
			continue
		}
		it.State, it.Detail, err = r.judge(ctx, archives, target, tname, snap.Head, snap.Tree, snap.Dirty())
		if err != nil {
			return items, err
		}
		remove(&it, func() error {
			if err := r.removeWorktree(ctx, h, w.Path); err != nil {
				return err
			}
			if w.Branch != "" {
				return r.deleteBranch(ctx, h, w.Branch)
			}
			return nil
		})
		items = append(items, it)
	}

	if opt.BranchPrefix != "" {
		out, err := r.query(ctx, r.CommonDir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
		if err != nil {
			return items, err
		}
		for _, l := range lines(out) {
			tip, ref, _ := strings.Cut(l, " ")
			b := strings.TrimPrefix(ref, "refs/heads/")
			if !ours(b) || busy[b] || opt.Owned(b, "") {
				continue
			}
			it := GCItem{Kind: GCBranch, Branch: b}
			if it.State, it.Detail, err = r.judge(ctx, archives, target, tname, tip, "", false); err != nil {
				return items, err
			}
			remove(&it, func() error { return r.deleteBranch(ctx, h, b) })
			items = append(items, it)
		}
	}

	if root != "" {
		ents, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return items, fmt.Errorf("cannot list the worktree root %s: %w", root, err)
		}
		for _, e := range ents {
			p := filepath.Join(root, e.Name())
			if !e.IsDir() || known[p] || opt.Owned("", p) {
				continue
			}
			it, ok := r.judgeDir(ctx, p, strings.TrimSpace(string(targetTree)), tname, archives)
			if !ok {
				continue
			}
			remove(&it, func() error { return os.RemoveAll(p) })
			items = append(items, it)
		}
	}
	return items, errors.Join(errs...)
}

// judge classifies a tip (and, when dirty, the working-state tree).
func (r *Repo) judge(ctx context.Context, archives map[string]string, target, tname, tip, tree string, dirty bool) (GCState, string, error) {
	if !dirty {
		merged, err := r.merged(ctx, target, tip)
		if err != nil {
			return "", "", err
		}
		if merged {
			return GCMerged, "its content is in " + tname, nil
		}
	}
	if !dirty {
		tree = ""
	}
	archived, err := r.archivedBy(ctx, archives, tip, tree)
	if err != nil {
		return "", "", err
	}
	if archived {
		return GCArchived, "an archive under " + ArchivePrefix + " holds it", nil
	}
	if dirty {
		return GCUnmerged, "it has uncommitted or untracked files", nil
	}
	return GCUnmerged, "it has commits not merged into " + tname, nil
}

// judgeDir classifies a directory under the root that git does not know as
// a worktree. A directory that is a checkout of another repository is not
// this repository's business (ok false). Otherwise its files are written as
// a tree: when that is the target's tree or an archive's, nothing in it is
// lost by removing it.
func (r *Repo) judgeDir(ctx context.Context, dir, targetTree, tname string, archives map[string]string) (GCItem, bool) {
	it := GCItem{Kind: GCDirectory, Path: dir, State: GCUnknown}
	if b, err := os.ReadFile(filepath.Join(dir, ".git")); err == nil {
		gitdir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
		if ok && !strings.HasPrefix(canonical(gitdir), canonical(r.CommonDir)+string(filepath.Separator)) {
			return it, false
		}
	} else if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil && fi.IsDir() {
		return it, false // a repository of its own
	}
	tree, err := r.dirTree(ctx, dir)
	if err != nil {
		it.Detail, it.Err = "git does not know it and its files cannot be read", err
		return it, true
	}
	switch {
	case tree == targetTree:
		it.State, it.Detail = GCMerged, "git does not know it; its files are exactly "+tname+"'s"
	default:
		for _, t := range archives {
			if t == tree {
				it.State, it.Detail = GCArchived, "git does not know it; an archive under "+ArchivePrefix+" holds its files"
				return it, true
			}
		}
		it.Detail = "git does not know it and its files are neither in " + tname + " nor archived"
	}
	return it, true
}

// dirTree writes the not-ignored files of dir as a tree, with the
// repository's object store and a temporary index, setting GIT_DIR and
// GIT_WORK_TREE on purpose.
func (r *Repo) dirTree(ctx context.Context, dir string) (string, error) {
	tmp, err := os.MkdirTemp("", "ce-gitwork-index-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_DIR=" + r.CommonDir, "GIT_WORK_TREE=" + dir, "GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := r.run(ctx, gitCmd{dir: dir, env: env, query: true, args: []string{"add", "-A", "--", "."}}); err != nil {
		return "", err
	}
	res, err := r.run(ctx, gitCmd{dir: dir, env: env, query: true, args: []string{"write-tree"}})
	return trim(res.out), err
}

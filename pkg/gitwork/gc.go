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
	g, err := r.startGC(ctx, h, opt)
	if err != nil {
		return nil, err
	}
	wts, err := r.Worktrees(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range wts {
		if err := g.worktree(ctx, w); err != nil {
			return g.items, err
		}
	}
	if opt.BranchPrefix != "" {
		if err := g.branches(ctx); err != nil {
			return g.items, err
		}
	}
	if g.root != "" {
		if err := g.directories(ctx); err != nil {
			return g.items, err
		}
	}
	return g.items, errors.Join(g.errs...)
}

// gcRun is one garbage collection under the repository lock: what it
// judges against and what it has found so far.
type gcRun struct {
	r    *Repo
	h    *held
	opt  GCOptions
	root string // opt.Root made canonical, "" for none

	target, tname string
	targetTree    string
	archives      map[string]string

	items []GCItem
	errs  []error         // the removals that failed
	busy  map[string]bool // branches a kept worktree has checked out
	known map[string]bool // the worktrees git knows, by canonical path
}

// startGC reads what a garbage collection judges against: the target, its
// tree and the archives.
func (r *Repo) startGC(ctx context.Context, h *held, opt GCOptions) (*gcRun, error) {
	g := &gcRun{r: r, h: h, opt: opt, busy: map[string]bool{}, known: map[string]bool{}}
	var err error
	if g.target, g.tname, err = r.target(ctx, opt.Target); err != nil {
		return nil, err
	}
	tree, err := r.query(ctx, r.CommonDir, "rev-parse", g.target+"^{tree}")
	if err != nil {
		return nil, err
	}
	g.targetTree = strings.TrimSpace(string(tree))
	if g.archives, err = r.archives(ctx); err != nil {
		return nil, err
	}
	if opt.Root != "" {
		g.root = canonical(opt.Root)
	}
	return g, nil
}

// inRoot reports whether p is a directory right under the root.
func (g *gcRun) inRoot(p string) bool {
	return g.root != "" && filepath.Dir(canonical(p)) == g.root
}

// ours reports whether branch is under the branch prefix.
func (g *gcRun) ours(branch string) bool {
	return g.opt.BranchPrefix != "" && strings.HasPrefix(branch, g.opt.BranchPrefix)
}

// remove removes a removable item with f, unless this is a dry run, and
// records on it whether that worked.
func (g *gcRun) remove(it *GCItem, f func() error) {
	if g.opt.DryRun || !it.State.Removable() {
		return
	}
	if err := f(); err != nil {
		it.Err = err
		g.errs = append(g.errs, err)
		return
	}
	it.Removed = true
}

// worktree judges a worktree that is ce's and no agent owns, and removes
// it with its branch when that loses nothing. The branch of a worktree
// that stays is busy: branches does not judge it on its own.
func (g *gcRun) worktree(ctx context.Context, w WorktreeInfo) error {
	r := g.r
	g.known[canonical(w.Path)] = true
	inScope := !w.Main && !w.Bare && (g.ours(w.Branch) || g.inRoot(w.Path))
	if !inScope || g.opt.Owned(w.Branch, w.Path) {
		g.busy[w.Branch] = true
		return nil
	}
	it := GCItem{Kind: GCWorktree, Branch: w.Branch, Path: w.Path}
	if w.Missing {
		it.State, it.Detail = GCVanished, "the directory is gone; git's record of it is pruned"
		g.remove(&it, func() error { return r.removeWorktree(ctx, g.h, w.Path) })
		if it.Err != nil {
			g.busy[w.Branch] = true // still checked out as far as git knows
		}
		g.items = append(g.items, it)
		return nil
	}
	g.busy[w.Branch] = true
	snap, err := r.Snapshot(ctx, w.Path)
	if err != nil {
		it.State, it.Detail, it.Err = GCUnknown, "cannot read its state", err
		g.items = append(g.items, it)
		return nil
	}
	it.State, it.Detail, err = r.judge(ctx, g.archives, g.target, g.tname, snap.Head, snap.Tree, snap.Dirty())
	if err != nil {
		return err
	}
	g.remove(&it, func() error {
		if err := r.removeWorktree(ctx, g.h, w.Path); err != nil {
			return err
		}
		if w.Branch != "" {
			return r.deleteBranch(ctx, g.h, w.Branch)
		}
		return nil
	})
	g.items = append(g.items, it)
	return nil
}

// branches judges the branches under the prefix that are not busy and no
// agent owns, and deletes those whose deletion loses nothing.
func (g *gcRun) branches(ctx context.Context) error {
	r := g.r
	out, err := r.query(ctx, r.CommonDir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	if err != nil {
		return err
	}
	for _, l := range lines(out) {
		tip, ref, _ := strings.Cut(l, " ")
		b := strings.TrimPrefix(ref, "refs/heads/")
		if !g.ours(b) || g.busy[b] || g.opt.Owned(b, "") {
			continue
		}
		it := GCItem{Kind: GCBranch, Branch: b}
		if it.State, it.Detail, err = r.judge(ctx, g.archives, g.target, g.tname, tip, "", false); err != nil {
			return err
		}
		g.remove(&it, func() error { return r.deleteBranch(ctx, g.h, b) })
		g.items = append(g.items, it)
	}
	return nil
}

// directories judges the directories under the root that git does not know
// as worktrees and no agent owns, and removes those whose files are kept
// elsewhere.
func (g *gcRun) directories(ctx context.Context) error {
	ents, err := os.ReadDir(g.root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot list the worktree root %s: %w", g.root, err)
	}
	for _, e := range ents {
		p := filepath.Join(g.root, e.Name())
		if !e.IsDir() || g.known[p] || g.opt.Owned("", p) {
			continue
		}
		it, ok := g.r.judgeDir(ctx, p, g.targetTree, g.tname, g.archives)
		if !ok {
			continue
		}
		g.remove(&it, func() error { return os.RemoveAll(p) })
		g.items = append(g.items, it)
	}
	return nil
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

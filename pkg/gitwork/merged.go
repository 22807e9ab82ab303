package gitwork

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// IsMerged reports whether target already holds everything rev holds, by
// content rather than ancestry, so that squash-merged branches count: rev
// is merged when it is an ancestor of target or when merging it into
// target would leave target's tree unchanged. target and rev are any
// revisions ("main", a branch, a commit). A squash-merged branch whose
// lines target changed again afterwards does not count, since merging it
// would conflict; archive it and discard it with force.
func (r *Repo) IsMerged(ctx context.Context, target, rev string) (bool, error) {
	t, err := r.Resolve(ctx, r.MainDir, target)
	if err != nil {
		return false, err
	}
	c, err := r.Resolve(ctx, r.MainDir, rev)
	if err != nil {
		return false, err
	}
	return r.merged(ctx, t, c)
}

// merged is IsMerged for two commits.
func (r *Repo) merged(ctx context.Context, target, commit string) (bool, error) {
	if target == commit {
		return true, nil
	}
	res, err := r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1},
		args: []string{"merge-base", "--is-ancestor", commit, target}})
	if err != nil {
		return false, err
	}
	if res.code == 0 {
		return true, nil
	}
	res, err = r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1},
		args: []string{"merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", target, commit}})
	if err != nil {
		var gerr *GitError
		if errors.As(err, &gerr) && strings.Contains(gerr.Stderr, "unrelated histories") {
			return false, nil
		}
		return false, err
	}
	if res.code != 0 {
		return false, nil
	}
	f := fields0(res.out)
	if len(f) == 0 {
		return false, fmt.Errorf("git merge-tree printed nothing in %s", r.CommonDir)
	}
	tt, err := r.query(ctx, r.CommonDir, "rev-parse", target+"^{tree}")
	if err != nil {
		return false, err
	}
	return f[0] == trim(tt), nil
}

// Work is what a worktree holds that its target lacks.
type Work struct {
	Dir, Branch, Head string
	// Target is the revision compared with.
	Target string
	// Uncommitted lists changes on disk not committed, untracked files
	// included.
	Uncommitted []File
	// Unmerged reports that the branch has commits whose content target
	// lacks.
	Unmerged bool
}

// None reports that discarding the worktree loses nothing.
func (w Work) None() bool { return len(w.Uncommitted) == 0 && !w.Unmerged }

func (w Work) String() string {
	var parts []string
	if n := len(w.Uncommitted); n > 0 {
		names := make([]string, 0, n)
		for _, f := range w.Uncommitted {
			names = append(names, f.Path)
		}
		parts = append(parts, fmt.Sprintf("%d uncommitted or untracked file(s) (%s)", n, listSome(names, 5)))
	}
	if w.Unmerged {
		name := w.Branch
		if name == "" {
			name = "its detached HEAD"
		}
		parts = append(parts, fmt.Sprintf("commits on %s not merged into %s", name, w.Target))
	}
	if len(parts) == 0 {
		return "nothing unsaved"
	}
	return strings.Join(parts, " and ")
}

// PendingWork reports what the worktree at dir holds that target ("" means
// the main worktree's HEAD) lacks: uncommitted and untracked files, and
// branch content not merged by IsMerged's test.
func (r *Repo) PendingWork(ctx context.Context, dir, target string) (Work, error) {
	t, tname, err := r.target(ctx, target)
	if err != nil {
		return Work{}, err
	}
	w, _, err := r.pendingWork(ctx, dir, t, tname)
	return w, err
}

// pendingWork is PendingWork for a resolved target; it also returns the
// snapshot it took.
func (r *Repo) pendingWork(ctx context.Context, dir, target, tname string) (Work, Snapshot, error) {
	c, err := r.Inspect(ctx, dir)
	if err != nil {
		return Work{}, Snapshot{}, err
	}
	snap, err := r.Snapshot(ctx, c.Dir)
	if err != nil {
		return Work{}, Snapshot{}, err
	}
	w := Work{Dir: c.Dir, Branch: c.Branch, Head: snap.Head, Target: tname}
	if snap.Dirty() {
		if w.Uncommitted, err = r.changes(ctx, c.Dir, snap.HeadTree, snap.Tree, nil); err != nil {
			return Work{}, Snapshot{}, err
		}
	}
	merged, err := r.merged(ctx, target, snap.Head)
	if err != nil {
		return Work{}, Snapshot{}, err
	}
	w.Unmerged = !merged
	return w, snap, nil
}

// target resolves a merge target revision and a name for messages; ""
// means the main worktree's HEAD.
func (r *Repo) target(ctx context.Context, rev string) (commit, name string, err error) {
	if rev == "" {
		c, err := r.Inspect(ctx, r.MainDir)
		if err != nil {
			return "", "", err
		}
		if c.Head == "" {
			return "", "", fmt.Errorf("the main worktree %s has no commit to compare with", c.Dir)
		}
		name = c.Branch
		if name == "" {
			name = c.Head[:12]
		}
		return c.Head, name, nil
	}
	commit, err = r.Resolve(ctx, r.MainDir, rev)
	return commit, rev, err
}

package gitwork

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// UnsavedWorkError is a removal refused because it would lose work.
type UnsavedWorkError struct {
	Work Work
	// Path is the worktree, "" for a branch alone.
	Path string
	// Forceable reports that the operation offers a force that archives
	// first.
	Forceable bool
}

func (e *UnsavedWorkError) Error() string {
	subject := "branch " + e.Work.Branch
	if e.Path != "" {
		subject = "worktree " + e.Path
	}
	msg := fmt.Sprintf("%s holds %s", subject, e.Work)
	if e.Forceable {
		return msg + ": merge or keep it first, or discard with force, which archives it under " + ArchivePrefix + "<id> before removing"
	}
	return msg + ": commit, merge or archive it first, or use force to lose it"
}

// LockWorktree locks the worktree at path against git worktree prune and
// remove; it does nothing to a locked one.
func (r *Repo) LockWorktree(ctx context.Context, path, reason string) error {
	h, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer h.unlock()
	w, err := r.findWorktree(ctx, path)
	if err != nil || w.Locked {
		return err
	}
	if reason == "" {
		reason = "ce agent worktree"
	}
	_, err = r.change(ctx, h, r.MainDir, "worktree", "lock", "--reason", reason, w.Path)
	return err
}

// UnlockWorktree unlocks the worktree at path; it does nothing to an
// unlocked one.
func (r *Repo) UnlockWorktree(ctx context.Context, path string) error {
	h, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer h.unlock()
	w, err := r.findWorktree(ctx, path)
	if err != nil || !w.Locked {
		return err
	}
	_, err = r.change(ctx, h, r.MainDir, "worktree", "unlock", w.Path)
	return err
}

// RemoveWorktree removes the worktree at path, locked or not, and keeps its
// branch. Without force it refuses (*UnsavedWorkError) when the worktree
// has uncommitted or untracked files; ignored files go either way. A
// worktree whose directory vanished is just forgotten.
func (r *Repo) RemoveWorktree(ctx context.Context, path string, force bool) error {
	h, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer h.unlock()
	w, err := r.findWorktree(ctx, path)
	if err != nil {
		return err
	}
	if !force && !w.Missing {
		snap, err := r.Snapshot(ctx, w.Path)
		if err != nil {
			return err
		}
		if snap.Dirty() {
			work := Work{Dir: w.Path, Branch: w.Branch, Head: snap.Head}
			if work.Uncommitted, err = r.changes(ctx, w.Path, snap.HeadTree, snap.Tree, nil); err != nil {
				return err
			}
			return &UnsavedWorkError{Work: work, Path: w.Path}
		}
	}
	return r.removeWorktree(ctx, h, w.Path)
}

// removeWorktree removes a worktree, locked, dirty or vanished.
func (r *Repo) removeWorktree(ctx context.Context, h *held, path string) error {
	if _, err := r.change(ctx, h, r.MainDir, "worktree", "remove", "--force", "--force", path); err != nil {
		return fmt.Errorf("cannot remove worktree %s: %w", path, err)
	}
	_, err := r.change(ctx, h, r.MainDir, "worktree", "prune")
	return err
}

// DeleteBranch deletes a branch. Without force it refuses
// (*UnsavedWorkError) unless the branch is merged into target ("" means the
// main worktree's HEAD) by IsMerged's content test, which, unlike git
// branch -d, accepts squash merges.
func (r *Repo) DeleteBranch(ctx context.Context, branch, target string, force bool) error {
	h, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer h.unlock()
	tip, err := r.Resolve(ctx, r.MainDir, "refs/heads/"+branch)
	if err != nil {
		return fmt.Errorf("no branch %s to delete", branch)
	}
	if !force {
		t, tname, err := r.target(ctx, target)
		if err != nil {
			return err
		}
		merged, err := r.merged(ctx, t, tip)
		if err != nil {
			return err
		}
		if !merged {
			return &UnsavedWorkError{Work: Work{Branch: branch, Head: tip, Target: tname, Unmerged: true}}
		}
	}
	return r.deleteBranch(ctx, h, branch)
}

func (r *Repo) deleteBranch(ctx context.Context, h *held, branch string) error {
	if _, err := r.change(ctx, h, r.MainDir, "branch", "--quiet", "-D", "--", branch); err != nil {
		return fmt.Errorf("cannot delete branch %s: %w", branch, err)
	}
	return nil
}

// DiscardOptions guards a discard.
type DiscardOptions struct {
	// Target is the revision the branch must be merged into; "" means the
	// main worktree's HEAD.
	Target string
	// Force discards unsaved work after archiving it.
	Force bool
	// ArchiveID names the archive, refs/ce/archive/<id>; it is needed when
	// Force has something to archive.
	ArchiveID string
}

// DiscardResult is what Discard removed and kept.
type DiscardResult struct {
	Path, Branch string
	// Archive is the archive ref and ArchiveCommit its commit, both ""
	// when nothing needed keeping.
	Archive, ArchiveCommit string
}

// Discard removes the worktree at path (or "" for none) and deletes branch
// ("" means the worktree's branch), under the repository lock. It refuses
// with an *UnsavedWorkError when the worktree has uncommitted or untracked
// files or the branch holds content target lacks; with Force it archives
// that work under refs/ce/archive/<ArchiveID> first. Afterwards neither
// the directory, nor the branch, nor git's record of the worktree remain.
func (r *Repo) Discard(ctx context.Context, path, branch string, opt DiscardOptions) (DiscardResult, error) {
	h, err := r.lock(ctx)
	if err != nil {
		return DiscardResult{}, err
	}
	defer h.unlock()
	wt, res, err := r.discarded(ctx, path, branch)
	if err != nil {
		return res, err
	}
	target, tname, err := r.target(ctx, opt.Target)
	if err != nil {
		return res, err
	}
	st, err := r.atStake(ctx, wt, path, res.Branch, target, tname)
	if err != nil {
		return res, err
	}
	if !st.work.None() {
		if err := r.keepWork(ctx, h, st, opt, &res); err != nil {
			return res, err
		}
	}
	if wt != nil {
		if err := r.removeWorktree(ctx, h, wt.Path); err != nil {
			return res, err
		}
	}
	if res.Branch != "" && st.tip != "" {
		if err := r.deleteBranch(ctx, h, res.Branch); err != nil {
			return res, err
		}
	}
	return res, nil
}

// discarded finds what Discard removes: the worktree at path (nil when
// there is none, on disk or in git) and the branch, which must be the
// worktree's own when both are given.
func (r *Repo) discarded(ctx context.Context, path, branch string) (*WorktreeInfo, DiscardResult, error) {
	res := DiscardResult{Branch: branch}
	var wt *WorktreeInfo
	if path != "" {
		w, err := r.findWorktree(ctx, path)
		switch {
		case err == nil:
			wt = &w
			res.Path = w.Path
		case errors.Is(statErr(path), os.ErrNotExist):
			// already gone from disk and from git
		default:
			return wt, res, err
		}
	}
	if wt != nil && wt.Branch == "" && branch != "" {
		return wt, res, fmt.Errorf("worktree %s has a detached HEAD, not branch %s: discard the worktree and the branch separately", wt.Path, branch)
	}
	if wt != nil && wt.Branch != "" {
		if branch != "" && branch != wt.Branch {
			return wt, res, fmt.Errorf("worktree %s is on branch %s, not %s: pass the worktree's own branch or none", wt.Path, wt.Branch, branch)
		}
		res.Branch = wt.Branch
	}
	if wt == nil && res.Branch == "" {
		return wt, res, fmt.Errorf("nothing to discard: %s is not a worktree and no branch was named", path)
	}
	return wt, res, nil
}

// stake is what a discard would lose, and the tip and tree an archive of
// it keeps; a tip of "" means there is no commit, so no branch to delete.
type stake struct {
	work      Work
	tip, tree string
}

// atStake finds what discarding the worktree wt (or, when it is nil or
// vanished, the branch alone) would lose against target.
func (r *Repo) atStake(ctx context.Context, wt *WorktreeInfo, path, branch, target, tname string) (stake, error) {
	if wt != nil && !wt.Missing {
		work, snap, err := r.pendingWork(ctx, wt.Path, target, tname)
		if err != nil {
			return stake{}, err
		}
		return stake{work: work, tip: snap.Head, tree: snap.Tree}, nil
	}
	if branch == "" {
		return stake{}, nil
	}
	tip, err := r.Resolve(ctx, r.MainDir, "refs/heads/"+branch)
	if err != nil {
		if wt == nil {
			return stake{}, fmt.Errorf("no worktree at %s and no branch %s: nothing to discard", path, branch)
		}
		return stake{}, nil
	}
	merged, err := r.merged(ctx, target, tip)
	if err != nil {
		return stake{}, err
	}
	out, err := r.query(ctx, r.CommonDir, "rev-parse", tip+"^{tree}")
	if err != nil {
		return stake{}, err
	}
	return stake{work: Work{Branch: branch, Head: tip, Target: tname, Unmerged: !merged}, tip: tip, tree: trim(out)}, nil
}

// keepWork archives the work at stake under refs/ce/archive/<ArchiveID>
// before a forced discard, noting the archive in res; without Force it
// refuses with an *UnsavedWorkError.
func (r *Repo) keepWork(ctx context.Context, h *held, st stake, opt DiscardOptions, res *DiscardResult) error {
	if !opt.Force {
		return &UnsavedWorkError{Work: st.work, Path: res.Path, Forceable: true}
	}
	what := describe(res.Branch, res.Path)
	if opt.ArchiveID == "" {
		return fmt.Errorf("discarding %s would lose %s: pass an archive id so that it is kept", what, st.work)
	}
	var err error
	res.ArchiveCommit, err = r.archive(ctx, h, opt.ArchiveID, st.tree, st.tip, what)
	if err != nil {
		return fmt.Errorf("not discarding %s: archiving it failed: %w", what, err)
	}
	res.Archive = ArchiveRef(opt.ArchiveID)
	return nil
}

func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}

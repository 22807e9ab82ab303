package gitwork

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Strategy is how Merge brings a branch into its target.
type Strategy string

const (
	// Squash makes one commit on the target with the branch's changes; the
	// branch is not an ancestor of the result.
	Squash Strategy = "squash"
	// MergeCommit makes a merge commit with the target and the branch tip
	// as parents.
	MergeCommit Strategy = "merge"
)

// MergeOptions describes a merge.
type MergeOptions struct {
	// Target is the checkout (the lead's) whose current branch receives
	// the merge; "" means the main worktree.
	Target string
	// Strategy is Squash when empty.
	Strategy Strategy
	// Message is the commit message; "" means one naming the branch and
	// listing its commits.
	Message string
}

// MergeResult is a merge that happened, or found nothing to do.
type MergeResult struct {
	// Target is the checkout and Branch the branch that moved.
	Target, Branch string
	// Previous is the target commit before the merge.
	Previous string
	// Commit is the new commit, "" when UpToDate.
	Commit string
	// UpToDate reports that the target already had all of the branch's
	// content and nothing was committed.
	UpToDate bool
}

// ConflictError is a merge that would conflict. The target was not
// touched.
type ConflictError struct {
	Branch, Target string
	// Files lists the conflicting paths.
	Files []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("merging %s into %s would conflict in %s; nothing was changed: bring %s into the branch's worktree, resolve the conflicts there, commit and merge again",
		e.Branch, e.Target, listSome(e.Files, 10), e.Target)
}

// DirtyError is a target checkout with uncommitted changes, which a merge
// must not mix with.
type DirtyError struct {
	Dir string
	// Files lists the paths with staged or unstaged changes, or the
	// untracked files in the way.
	Files []string
	// Untracked reports that the listed files are untracked ones the
	// merge would overwrite.
	Untracked bool
}

func (e *DirtyError) Error() string {
	if e.Untracked {
		return fmt.Sprintf("cannot merge into %s: the merge would overwrite untracked files there (%s): move or commit them first", e.Dir, listSome(e.Files, 10))
	}
	return fmt.Sprintf("cannot merge into %s: it has uncommitted changes (%s): commit or stash them first", e.Dir, listSome(e.Files, 10))
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:n], ", "), len(s)-n)
}

// Merge brings branch into the current branch of the target checkout under
// the repository lock. The target must be clean (untracked files are
// allowed unless the merge would overwrite them). Conflicts are found with
// git merge-tree before anything changes and returned as a
// *ConflictError; otherwise the commit is made with commit-tree from the
// merged tree, and only then the target's branch and files move to it by a
// fast-forward.
func (r *Repo) Merge(ctx context.Context, branch string, opt MergeOptions) (MergeResult, error) {
	strategy := opt.Strategy
	if strategy == "" {
		strategy = Squash
	}
	if strategy != Squash && strategy != MergeCommit {
		return MergeResult{}, fmt.Errorf("unknown merge strategy %q: use %q or %q", strategy, Squash, MergeCommit)
	}
	target := opt.Target
	if target == "" {
		target = r.MainDir
	}
	h, err := r.lock(ctx)
	if err != nil {
		return MergeResult{}, err
	}
	defer h.unlock()

	tc, err := r.mergeTarget(ctx, target)
	if err != nil {
		return MergeResult{}, err
	}
	res := MergeResult{Target: tc.Dir, Branch: tc.Branch, Previous: tc.Head}
	tip, err := r.Resolve(ctx, tc.Dir, branch)
	if err != nil {
		return res, err
	}
	tree, upToDate, err := r.mergedTree(ctx, tc, branch, tip)
	if err != nil || upToDate {
		res.UpToDate = upToDate
		return res, err
	}
	res.Commit, err = r.commitMerge(ctx, tc, strategy, branch, tip, tree, opt.Message)
	return res, err
}

// mergeTarget inspects the checkout a merge goes into, which must be on a
// branch with a commit.
func (r *Repo) mergeTarget(ctx context.Context, dir string) (Checkout, error) {
	tc, err := r.Inspect(ctx, dir)
	if err != nil {
		return tc, err
	}
	if tc.Branch == "" {
		return tc, fmt.Errorf("cannot merge into %s: its HEAD is detached; check out the branch to merge into first", tc.Dir)
	}
	if tc.Head == "" {
		return tc, fmt.Errorf("cannot merge into %s: branch %s has no commit yet", tc.Dir, tc.Branch)
	}
	return tc, nil
}

// mergedTree returns the tree of tip merged into the target checkout tc,
// or upToDate when the target already has all of it. It refuses a dirty
// target, a merge that conflicts (*ConflictError) and one that would
// overwrite untracked files.
func (r *Repo) mergedTree(ctx context.Context, tc Checkout, branch, tip string) (tree string, upToDate bool, err error) {
	untracked, err := r.requireClean(ctx, tc.Dir)
	if err != nil {
		return "", false, err
	}
	tree, conflicts, err := r.mergeTree(ctx, tc.Dir, tc.Head, tip)
	if err != nil {
		return "", false, err
	}
	if len(conflicts) > 0 {
		return "", false, &ConflictError{Branch: branch, Target: tc.Branch, Files: conflicts}
	}
	headTree, err := r.query(ctx, tc.Dir, "rev-parse", tc.Head+"^{tree}")
	if err != nil {
		return "", false, err
	}
	if tree == trim(headTree) {
		return tree, true, nil
	}
	if len(untracked) > 0 {
		if err := r.checkOverwrite(ctx, tc.Dir, tc.Head, tree, untracked); err != nil {
			return "", false, err
		}
	}
	return tree, false, nil
}

// commitMerge commits tree on the target's branch with msg ("" for the
// default message) and moves the target to it by a fast-forward; it
// returns the commit.
func (r *Repo) commitMerge(ctx context.Context, tc Checkout, strategy Strategy, branch, tip, tree, msg string) (string, error) {
	if strings.TrimSpace(msg) == "" {
		var err error
		if msg, err = r.defaultMessage(ctx, tc.Dir, strategy, branch, tc.Head, tip, tc.Branch); err != nil {
			return "", err
		}
	}
	args := []string{"commit-tree", tree, "-p", tc.Head}
	if strategy == MergeCommit {
		args = append(args, "-p", tip)
	}
	env, err := r.identityEnv(ctx, tc.Dir)
	if err != nil {
		return "", err
	}
	out, err := r.run(ctx, gitCmd{dir: tc.Dir, env: env, stdin: strings.NewReader(msg), args: append(args, "-F", "-")})
	if err != nil {
		return "", err
	}
	commit := trim(out.out)
	if _, err := r.run(ctx, gitCmd{dir: tc.Dir, env: []string{"GIT_REFLOG_ACTION=ce " + string(strategy) + " " + branch},
		args: []string{"merge", "--quiet", "--ff-only", commit}}); err != nil {
		return "", fmt.Errorf("the merge commit %s was made but %s could not be moved to it (the checkout is unchanged): %w", commit, tc.Branch, err)
	}
	return commit, nil
}

// requireClean refuses a checkout with staged or unstaged changes and
// returns its untracked files.
func (r *Repo) requireClean(ctx context.Context, dir string) ([]string, error) {
	out, err := r.query(ctx, dir, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none")
	if err != nil {
		return nil, err
	}
	var dirty, untracked []string
	f := fields0(out)
	for i := 0; i < len(f); i++ {
		e := f[i]
		if len(e) < 4 {
			continue
		}
		if e[0] == 'R' || e[0] == 'C' {
			i++ // the source path follows
		}
		if strings.HasPrefix(e, "?? ") {
			untracked = append(untracked, e[3:])
			continue
		}
		dirty = append(dirty, e[3:])
	}
	if len(dirty) > 0 {
		return nil, &DirtyError{Dir: dir, Files: dirty}
	}
	return untracked, nil
}

// checkOverwrite refuses a merge that would write over untracked files.
func (r *Repo) checkOverwrite(ctx context.Context, dir, from, to string, untracked []string) error {
	out, err := r.query(ctx, dir, "diff-tree", "-r", "-z", "--name-only", "--no-renames", from, to)
	if err != nil {
		return err
	}
	changed := fields0(out)
	var hit []string
	for _, u := range untracked {
		for _, c := range changed {
			if u == c || strings.HasPrefix(c, u+"/") || strings.HasPrefix(u, c+"/") {
				hit = append(hit, u)
				break
			}
		}
	}
	if len(hit) > 0 {
		return &DirtyError{Dir: dir, Files: hit, Untracked: true}
	}
	return nil
}

// mergeTree merges two commits in memory and returns the merged tree or the
// conflicting paths; it writes only objects.
func (r *Repo) mergeTree(ctx context.Context, dir, ours, theirs string) (string, []string, error) {
	res, err := r.run(ctx, gitCmd{dir: dir, query: true, codes: []int{1},
		args: []string{"merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", ours, theirs}})
	if err != nil {
		return "", nil, err
	}
	f := fields0(res.out)
	if len(f) == 0 {
		return "", nil, fmt.Errorf("git merge-tree printed nothing in %s", dir)
	}
	if res.code == 0 {
		return f[0], nil, nil
	}
	var files []string
	for _, p := range f[1:] {
		if p == "" {
			break
		}
		if !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		files = []string{"(unknown files)"}
	}
	return f[0], files, nil
}

func (r *Repo) defaultMessage(ctx context.Context, dir string, s Strategy, branch, head, tip, target string) (string, error) {
	out, err := r.query(ctx, dir, "log", "--reverse", "--format=* %s", head+".."+tip)
	if err != nil {
		return "", err
	}
	title := fmt.Sprintf("Merge branch %s into %s", branch, target)
	if s == Squash {
		title = fmt.Sprintf("Squash-merge branch %s into %s", branch, target)
	}
	if body := trim(out); body != "" {
		return title + "\n\n" + body + "\n", nil
	}
	return title + "\n", nil
}

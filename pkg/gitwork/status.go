package gitwork

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status is where a worktree stands against its base.
type Status struct {
	Dir    string
	Branch string // "" when detached
	Head   string
	Base   string
	// Committed lists the files the branch changed since Base.
	Committed []File
	// Uncommitted lists the changes on disk not yet committed, untracked
	// files included (as added).
	Uncommitted []File
	// Ahead counts the commits since Base.
	Ahead int
	// Dirty reports uncommitted changes or untracked files.
	Dirty bool
	// LastCommit is the committer time of HEAD.
	LastCommit time.Time
}

// Status reports the worktree at dir against base ("" means the recorded
// base) without touching its index.
func (r *Repo) Status(ctx context.Context, dir, base string) (Status, error) {
	base, err := r.base(ctx, dir, base)
	if err != nil {
		return Status{}, err
	}
	c, err := r.Inspect(ctx, dir)
	if err != nil {
		return Status{}, err
	}
	snap, err := r.Snapshot(ctx, c.Dir)
	if err != nil {
		return Status{}, err
	}
	st := Status{Dir: c.Dir, Branch: c.Branch, Head: snap.Head, Base: base, Dirty: snap.Dirty()}
	if st.Committed, err = r.changes(ctx, c.Dir, base, snap.Head, nil); err != nil {
		return Status{}, err
	}
	if st.Dirty {
		if st.Uncommitted, err = r.changes(ctx, c.Dir, snap.HeadTree, snap.Tree, nil); err != nil {
			return Status{}, err
		}
	}
	out, err := r.query(ctx, c.Dir, "rev-list", "--count", base+".."+snap.Head)
	if err != nil {
		return Status{}, err
	}
	st.Ahead, _ = strconv.Atoi(trim(out))
	out, err = r.query(ctx, c.Dir, "log", "-1", "--format=%ct", snap.Head)
	if err != nil {
		return Status{}, err
	}
	if sec, err := strconv.ParseInt(trim(out), 10, 64); err == nil {
		st.LastCommit = time.Unix(sec, 0)
	}
	return st, nil
}

// CommitAll commits everything uncommitted and untracked (not ignored) in
// the worktree at dir, under the repository lock, and returns the new
// commit, or "" when there was nothing to commit. Hooks are skipped: this
// saves an agent's leftovers before a merge, and a failing lint hook must
// not stand between them and safety. Without a configured identity the
// commit is by the Repo's Identity.
func (r *Repo) CommitAll(ctx context.Context, dir, message string) (string, error) {
	if strings.TrimSpace(message) == "" {
		return "", fmt.Errorf("a commit message is needed to commit the leftovers in %s", dir)
	}
	h, err := r.lock(ctx)
	if err != nil {
		return "", err
	}
	defer h.unlock()
	return r.commitAll(ctx, h, dir, message)
}

func (r *Repo) commitAll(ctx context.Context, h *held, dir, message string) (string, error) {
	c, err := r.Inspect(ctx, dir)
	if err != nil {
		return "", err
	}
	if c.Head == "" {
		return "", fmt.Errorf("%s has no commit yet: ce worktrees start from a commit", c.Dir)
	}
	if _, err := r.change(ctx, h, c.Dir, "add", "-A", "--", "."); err != nil {
		return "", err
	}
	res, err := r.run(ctx, gitCmd{dir: c.Dir, query: true, codes: []int{1}, args: []string{"diff", "--cached", "--quiet", "--no-ext-diff"}})
	if err != nil {
		return "", err
	}
	if res.code == 0 {
		return "", nil
	}
	env, err := r.identityEnv(ctx, c.Dir)
	if err != nil {
		return "", err
	}
	if _, err := r.run(ctx, gitCmd{dir: c.Dir, env: env, stdin: strings.NewReader(message),
		args: []string{"commit", "--quiet", "--no-verify", "--file=-"}}); err != nil {
		return "", fmt.Errorf("cannot commit the leftovers in %s: %w", c.Dir, err)
	}
	_, commit, err := head(ctx, r.timeout(), c.Dir)
	return commit, err
}

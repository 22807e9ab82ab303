package gitwork

import (
	"context"
	"fmt"
	"strings"
)

// ArchivePrefix is where archives live: ArchivePrefix+<id> is a commit
// whose tree is a worktree's working state (committed, uncommitted and
// untracked files) and whose first parent is its branch tip. A later
// archive under the same id keeps the earlier one as its second parent.
// Recover one with git worktree add <dir> refs/ce/archive/<id>, or git
// checkout it.
const ArchivePrefix = "refs/ce/archive/"

// ArchiveRef is the archive ref for id.
func ArchiveRef(id string) string { return ArchivePrefix + id }

// Archive keeps everything of the worktree at dir under
// refs/ce/archive/<id> without touching the worktree or its index, and
// returns the archive commit.
func (r *Repo) Archive(ctx context.Context, dir, id string) (string, error) {
	h, err := r.lock(ctx)
	if err != nil {
		return "", err
	}
	defer h.unlock()
	snap, err := r.Snapshot(ctx, dir)
	if err != nil {
		return "", err
	}
	c, err := r.Inspect(ctx, snap.Dir)
	if err != nil {
		return "", err
	}
	return r.archive(ctx, h, id, snap.Tree, snap.Head, describe(c.Branch, c.Dir))
}

func describe(branch, dir string) string {
	if branch == "" {
		return "detached HEAD of " + dir
	}
	if dir == "" {
		return "branch " + branch
	}
	return "branch " + branch + " in " + dir
}

// archive points refs/ce/archive/<id> at a commit of tree with parent tip,
// keeping an earlier archive of the same id as a second parent.
func (r *Repo) archive(ctx context.Context, h *held, id, tree, tip, what string) (string, error) {
	ref := ArchiveRef(id)
	if id == "" || strings.ContainsAny(id, " \t\n") {
		return "", fmt.Errorf("archive id %q is not usable: pass an agent id made of letters, digits, '-' or '_'", id)
	}
	res, err := r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1}, args: []string{"check-ref-format", ref}})
	if err != nil {
		return "", err
	}
	if res.code != 0 {
		return "", fmt.Errorf("archive id %q does not make a valid ref name (%s): pass an agent id made of letters, digits, '-' or '_'", id, ref)
	}
	res, err = r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1},
		args: []string{"rev-parse", "-q", "--verify", ref + "^{commit}"}})
	if err != nil {
		return "", err
	}
	prev := trim(res.out)
	if prev != "" {
		out, err := r.query(ctx, r.CommonDir, "rev-parse", prev+"^{tree}", prev+"^1")
		if err == nil {
			if l := lines(out); len(l) == 2 && l[0] == tree && l[1] == tip {
				return prev, nil
			}
		}
	}
	args := []string{"commit-tree", tree, "-p", tip}
	if prev != "" {
		args = append(args, "-p", prev)
	}
	msg := fmt.Sprintf("ce archive %s\n\nEverything of %s, uncommitted and untracked files included.\nRecover it with: git worktree add <dir> %s\n", id, what, ref)
	env, err := r.identityEnv(ctx, r.MainDir)
	if err != nil {
		return "", err
	}
	out, err := r.run(ctx, gitCmd{dir: r.CommonDir, env: env, stdin: strings.NewReader(msg), args: append(args, "-F", "-")})
	if err != nil {
		return "", err
	}
	commit := trim(out.out)
	if _, err := r.change(ctx, h, r.CommonDir, "update-ref", "-m", "ce archive", ref, commit, prev); err != nil {
		return "", fmt.Errorf("cannot write archive %s: %w", ref, err)
	}
	return commit, nil
}

// archives lists the archive commits and their trees.
func (r *Repo) archives(ctx context.Context) (map[string]string, error) {
	out, err := r.query(ctx, r.CommonDir, "for-each-ref", "--format=%(objectname) %(tree)", ArchivePrefix)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range lines(out) {
		c, t, _ := strings.Cut(l, " ")
		m[c] = t
	}
	return m, nil
}

// archivedBy reports whether an archive holds tip and, when tree is not
// "", a working state with that tree.
func (r *Repo) archivedBy(ctx context.Context, archives map[string]string, tip, tree string) (bool, error) {
	if len(archives) == 0 {
		return false, nil
	}
	if tree != "" {
		found := false
		for _, t := range archives {
			found = found || t == tree
		}
		if !found {
			return false, nil
		}
	}
	out, err := r.query(ctx, r.CommonDir, "for-each-ref", "--contains", tip, "--format=%(objectname)", ArchivePrefix)
	if err != nil {
		return false, err
	}
	for _, c := range lines(out) {
		if t, ok := archives[c]; ok && (tree == "" || t == tree) {
			return true, nil
		}
	}
	return false, nil
}

// Package gitwork provides the git mechanics behind agents that work in git
// worktrees: identifying a repository, one cross-process lock per
// repository, creating locked worktrees on new branches (with
// .worktreeinclude copies and a setup command), diffs and status against a
// recorded base that include uncommitted and untracked files without
// touching a worktree's index, conflict-checked squash or merge commits into
// a lead's checkout, a merged test by content rather than ancestry, archives
// under refs/ce/archive/<id>, guarded discards and garbage collection of
// what no agent owns.
//
// The caller (the agents manager) owns agent ids, state and the user
// surface; this package only knows repositories, paths and branch names.
//
// Two things here are contracts other programs may rely on: the repository
// lock, an exclusive flock on <git-common-dir>/ce.lock held for every
// mutating git operation and carrying the holder's pid and command (the
// pkg/lockfile protocol), and the archive refs, refs/ce/archive/<id>, each a
// commit whose tree is a worktree's working state and whose first parent is
// its branch tip, recoverable with plain git. The Go API is implementation
// and may change with ce.
//
// Every git command runs with a timeout, LC_ALL=C and GIT_TERMINAL_PROMPT=0,
// and without the caller's GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE or other
// repository-local variables; queries pass --no-optional-locks so that
// polling never takes a lock a running agent needs. Git 2.38 or later is
// required (merge-tree --write-tree).
package gitwork

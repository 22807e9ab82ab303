package gitwork

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestTwoWorktrees is an agent's life: two workers commit, one leaves an
// uncommitted change and an untracked file, the diff shows them without
// touching the worktree's index, both are squash-merged into the main
// checkout, and discarding leaves nothing behind.
func TestTwoWorktrees(t *testing.T) {
	t.Parallel()
	r, c, a := repoWithWorktree(t, "a")
	b := create(t, r, filepath.Dir(r.MainDir), "b")

	commitIn(t, a.Path, "add feature a", map[string]string{"feature-a.txt": "from a\n"})
	commitIn(t, b.Path, "add feature b", map[string]string{"feature-b.txt": "from b\n"})
	// b leaves work: an uncommitted change to a tracked file and an
	// untracked file
	write(t, filepath.Join(b.Path, "a.txt"), "one\nTWO\nthree\n")
	write(t, filepath.Join(b.Path, "notes/untracked.txt"), "draft\n")

	index := filepath.Join(b.GitDir, "index")
	indexBefore, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Diff(c, b.Path, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(d.Files), []string{"A feature-b.txt", "A notes/untracked.txt", "M a.txt"}; !slices.Equal(got, want) {
		t.Errorf("diff files = %v, want %v", got, want)
	}
	for _, s := range []string{"+TWO", "+draft", "+from b", "b/notes/untracked.txt"} {
		if !strings.Contains(d.Patch, s) {
			t.Errorf("patch lacks %q:\n%s", s, d.Patch)
		}
	}
	if d.Truncated || d.Size != len(d.Patch) {
		t.Errorf("whole patch: truncated %v, size %d, len %d", d.Truncated, d.Size, len(d.Patch))
	}
	indexAfter, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indexBefore, indexAfter) {
		t.Error("Diff changed the worktree's index")
	}
	if st := git(t, b.Path, "status", "--porcelain"); st != "M a.txt\n?? notes/" {
		t.Errorf("the worktree's own status changed: %q", st)
	}

	// b's leftovers are committed before its merge
	commit, err := r.CommitAll(c, b.Path, "leftovers of b")
	if err != nil || commit == "" {
		t.Fatalf("CommitAll = %q, %v", commit, err)
	}
	if author := git(t, b.Path, "log", "-1", "--format=%an <%ae>/%cn <%ce>"); author != "ce <ce@localhost>/ce <ce@localhost>" {
		t.Errorf("leftover commit by %q, want the ce identity", author)
	}
	if again, err := r.CommitAll(c, b.Path, "nothing"); err != nil || again != "" {
		t.Errorf("second CommitAll = %q, %v; want nothing to commit", again, err)
	}

	for _, wt := range []*Worktree{a, b} {
		res, err := r.Merge(c, wt.Branch, MergeOptions{})
		if err != nil {
			t.Fatalf("merge %s: %v", wt.Branch, err)
		}
		if res.Commit == "" || res.Branch != "main" || git(t, r.MainDir, "rev-parse", "HEAD") != res.Commit {
			t.Errorf("merge %s: %+v, main at %s", wt.Branch, res, git(t, r.MainDir, "rev-parse", "HEAD"))
		}
		if parents := git(t, r.MainDir, "log", "-1", "--format=%P"); parents != res.Previous {
			t.Errorf("squash commit parents %q, want only %s", parents, res.Previous)
		}
	}
	if read(t, filepath.Join(r.MainDir, "feature-a.txt")) != "from a\n" ||
		read(t, filepath.Join(r.MainDir, "notes/untracked.txt")) != "draft\n" ||
		read(t, filepath.Join(r.MainDir, "a.txt")) != "one\nTWO\nthree\n" {
		t.Error("main checkout lacks the merged files")
	}
	if st := git(t, r.MainDir, "status", "--porcelain"); st != "" {
		t.Errorf("main checkout not clean after merges: %q", st)
	}
	if msg := git(t, r.MainDir, "log", "-1", "--format=%B"); !strings.Contains(msg, "ce/lead/b") || !strings.Contains(msg, "* leftovers of b") {
		t.Errorf("default squash message %q", msg)
	}

	for _, wt := range []*Worktree{a, b} {
		res, err := r.Discard(c, wt.Path, "", DiscardOptions{})
		if err != nil {
			t.Fatalf("discard merged %s: %v", wt.Branch, err)
		}
		if res.Archive != "" {
			t.Errorf("discarding merged work archived it: %+v", res)
		}
		if exists(wt.Path) {
			t.Errorf("%s still exists", wt.Path)
		}
	}
	if b := branches(t, r.MainDir, "ce/"); len(b) != 0 {
		t.Errorf("branches left: %v", b)
	}
	if n := worktreeCount(t, r.MainDir); n != 1 {
		t.Errorf("git worktree list shows %d worktrees, want only main", n)
	}
}

// TestConflictLeavesTargetUntouched: a conflicting merge reports the file
// and changes not one byte of the target.
func TestConflictLeavesTargetUntouched(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "x")
	commitIn(t, w.Path, "worker edit", map[string]string{"a.txt": "one\nworker\nthree\n", "new.txt": "new\n"})
	commitIn(t, r.MainDir, "lead edit", map[string]string{"a.txt": "one\nlead\nthree\n"})
	write(t, filepath.Join(r.MainDir, "scratch.txt"), "untracked scratch\n")

	before := fingerprint(t, r.MainDir)
	for _, s := range []Strategy{Squash, MergeCommit} {
		_, err := r.Merge(c, w.Branch, MergeOptions{Strategy: s})
		var conflict *ConflictError
		if !errors.As(err, &conflict) {
			t.Fatalf("%s merge error = %v, want a conflict", s, err)
		}
		if !slices.Equal(conflict.Files, []string{"a.txt"}) {
			t.Errorf("conflicting files %v, want [a.txt]", conflict.Files)
		}
		if !strings.Contains(err.Error(), "a.txt") || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("conflict message %q", err)
		}
		sameFingerprint(t, before, fingerprint(t, r.MainDir))
	}
}

// TestDiscardUnmergedWork: unsaved work is refused, a forced discard
// archives it, and plain git gets it back, untracked files and all.
func TestDiscardUnmergedWork(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "lost")
	dir := filepath.Dir(r.MainDir)
	tip := commitIn(t, w.Path, "work", map[string]string{"committed.txt": "committed\n"})
	write(t, filepath.Join(w.Path, "README"), "changed, not committed\n")
	write(t, filepath.Join(w.Path, "deep/untracked.txt"), "untracked\n")
	write(t, filepath.Join(w.Path, ".gitignore"), "*.log\n")
	write(t, filepath.Join(w.Path, "debug.log"), "ignored\n")

	_, err := r.Discard(c, w.Path, "", DiscardOptions{ArchiveID: "agent-1"})
	var unsaved *UnsavedWorkError
	if !errors.As(err, &unsaved) {
		t.Fatalf("discard error = %v, want unsaved work", err)
	}
	msg := err.Error()
	for _, s := range []string{"uncommitted", "README", "not merged into main", "force", "refs/ce/archive/"} {
		if !strings.Contains(msg, s) {
			t.Errorf("refusal %q does not mention %q", msg, s)
		}
	}
	if !exists(w.Path) || len(branches(t, r.MainDir, "ce/")) != 1 {
		t.Fatal("a refused discard removed something")
	}
	if _, err := r.Discard(c, w.Path, "", DiscardOptions{Force: true}); err == nil || !strings.Contains(err.Error(), "pass an archive id") {
		t.Errorf("forced discard without an archive id: %v", err)
	}

	res, err := r.Discard(c, w.Path, "", DiscardOptions{Force: true, ArchiveID: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Archive != "refs/ce/archive/agent-1" || res.ArchiveCommit == "" {
		t.Errorf("discard result %+v", res)
	}
	if exists(w.Path) || len(branches(t, r.MainDir, "ce/")) != 0 || worktreeCount(t, r.MainDir) != 1 {
		t.Fatal("forced discard left the worktree or the branch")
	}
	if p := git(t, r.MainDir, "rev-parse", "refs/ce/archive/agent-1^1"); p != tip {
		t.Errorf("archive parent %s, want the branch tip %s", p, tip)
	}

	back := filepath.Join(dir, "recovered")
	git(t, r.MainDir, "worktree", "add", "-q", "--detach", back, "refs/ce/archive/agent-1")
	for f, want := range map[string]string{
		"committed.txt":      "committed\n",
		"README":             "changed, not committed\n",
		"deep/untracked.txt": "untracked\n",
		".gitignore":         "*.log\n",
	} {
		if got := read(t, filepath.Join(back, f)); got != want {
			t.Errorf("recovered %s = %q, want %q", f, got, want)
		}
	}
	if exists(filepath.Join(back, "debug.log")) {
		t.Error("the archive holds an ignored file")
	}
}

// TestSquashMergedIsMerged: a branch squash-merged by plain git counts as
// merged and goes without force, though it is no ancestor of main.
func TestSquashMergedIsMerged(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "sq")
	for i, f := range []string{"one.txt", "two.txt"} {
		commitIn(t, w.Path, f, map[string]string{f: strings.Repeat("x", i+1) + "\n"})
	}
	if merged, err := r.IsMerged(c, "main", w.Branch); err != nil || merged {
		t.Fatalf("before the merge IsMerged = %v, %v", merged, err)
	}
	git(t, r.MainDir, "merge", "-q", "--squash", w.Branch)
	git(t, r.MainDir, "commit", "-q", "-m", "squashed by hand")
	commitIn(t, r.MainDir, "later", map[string]string{"later.txt": "the lead went on\n"})

	if merged, err := r.IsMerged(c, "main", w.Branch); err != nil || !merged {
		t.Fatalf("after a squash merge IsMerged = %v, %v", merged, err)
	}
	if _, err := gitErr(r.MainDir, "merge-base", "--is-ancestor", w.Branch, "main"); err == nil {
		t.Fatal("the branch is an ancestor of main: the test proves nothing about content")
	}
	work, err := r.PendingWork(c, w.Path, "")
	if err != nil || !work.None() {
		t.Fatalf("PendingWork = %+v, %v; want none", work, err)
	}
	if _, err := r.Discard(c, w.Path, "", DiscardOptions{}); err != nil {
		t.Fatalf("discard of a squash-merged branch: %v", err)
	}
	if exists(w.Path) || len(branches(t, r.MainDir, "ce/")) != 0 {
		t.Error("discard left the worktree or branch")
	}
	if out := git(t, r.MainDir, "for-each-ref", "refs/ce/"); out != "" {
		t.Errorf("a merged branch was archived: %s", out)
	}
}

// TestPendingWorkSeesUncommitted: a merged branch with an untracked file in
// its worktree still holds work.
func TestPendingWorkSeesUncommitted(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "p")
	work, err := r.PendingWork(c, w.Path, "main")
	if err != nil || !work.None() {
		t.Fatalf("fresh worktree: %+v, %v", work, err)
	}
	write(t, filepath.Join(w.Path, "new.txt"), "x\n")
	work, err = r.PendingWork(c, w.Path, "main")
	if err != nil {
		t.Fatal(err)
	}
	if work.None() || work.Unmerged || len(work.Uncommitted) != 1 || work.Uncommitted[0].Path != "new.txt" {
		t.Errorf("work = %+v, want the untracked file only", work)
	}
	if err := r.RemoveWorktree(c, w.Path, false); err == nil {
		t.Error("RemoveWorktree without force removed a worktree with an untracked file")
	}
	if err := r.DeleteBranch(c, w.Branch, "", false); err == nil {
		t.Error("DeleteBranch deleted a branch checked out in a worktree")
	}
	if err := r.RemoveWorktree(c, w.Path, true); err != nil || exists(w.Path) {
		t.Fatalf("forced RemoveWorktree: %v", err)
	}
	if err := r.DeleteBranch(c, w.Branch, "", false); err != nil {
		t.Errorf("DeleteBranch of an unchanged branch: %v", err)
	}
}

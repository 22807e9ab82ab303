package gitwork

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestMergeDirtyTarget(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "m")
	commitIn(t, w.Path, "worker", map[string]string{"w.txt": "w\n", "shared/new.txt": "new\n"})

	write(t, filepath.Join(r.MainDir, "README"), "lead is editing\n")
	write(t, filepath.Join(r.MainDir, "src/staged.go"), "package lib\n")
	git(t, r.MainDir, "add", "src/staged.go")
	before := fingerprint(t, r.MainDir)
	_, err := r.Merge(c, w.Branch, MergeOptions{})
	var dirty *DirtyError
	if !errors.As(err, &dirty) || dirty.Untracked {
		t.Fatalf("merge into a dirty target: %v", err)
	}
	if !slices.Equal(dirty.Files, []string{"README", "src/staged.go"}) {
		t.Errorf("dirty files %q", dirty.Files)
	}
	if msg := err.Error(); !strings.Contains(msg, "uncommitted changes") || !strings.Contains(msg, "README") || !strings.Contains(msg, "commit or stash") {
		t.Errorf("message %q", msg)
	}
	sameFingerprint(t, before, fingerprint(t, r.MainDir))

	// untracked files are fine unless the merge would overwrite them
	git(t, r.MainDir, "reset", "-q", "--hard")
	write(t, filepath.Join(r.MainDir, "scratch.txt"), "lead's notes\n")
	write(t, filepath.Join(r.MainDir, "shared/new.txt"), "lead's own\n")
	before = fingerprint(t, r.MainDir)
	_, err = r.Merge(c, w.Branch, MergeOptions{})
	if !errors.As(err, &dirty) || !dirty.Untracked || !slices.Equal(dirty.Files, []string{"shared/new.txt"}) {
		t.Fatalf("merge over an untracked file: %v", err)
	}
	sameFingerprint(t, before, fingerprint(t, r.MainDir))
	os.Remove(filepath.Join(r.MainDir, "shared/new.txt"))
	res, err := r.Merge(c, w.Branch, MergeOptions{})
	if err != nil || res.Commit == "" {
		t.Fatalf("merge with an unrelated untracked file: %+v, %v", res, err)
	}
	if read(t, filepath.Join(r.MainDir, "scratch.txt")) != "lead's notes\n" || read(t, filepath.Join(r.MainDir, "shared/new.txt")) != "new\n" {
		t.Error("merge result wrong")
	}
}

func TestMergeStrategies(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "mc")
	dir := filepath.Dir(r.MainDir)
	tip := commitIn(t, w.Path, "worker change", map[string]string{"a.txt": "one\ntwo\nthree\nfour\n"})
	commitIn(t, r.MainDir, "lead change", map[string]string{"README": "lead\n"})
	prev := git(t, r.MainDir, "rev-parse", "HEAD")

	if _, err := r.Merge(c, w.Branch, MergeOptions{Strategy: "rebase"}); err == nil || !strings.Contains(err.Error(), `unknown merge strategy "rebase"`) {
		t.Errorf("bad strategy: %v", err)
	}
	res, err := r.Merge(c, w.Branch, MergeOptions{Strategy: MergeCommit, Message: "bring in the worker"})
	if err != nil {
		t.Fatal(err)
	}
	if parents := git(t, r.MainDir, "log", "-1", "--format=%P"); parents != prev+" "+tip {
		t.Errorf("merge commit parents %q, want %s %s", parents, prev, tip)
	}
	if msg := git(t, r.MainDir, "log", "-1", "--format=%s"); msg != "bring in the worker" {
		t.Errorf("message %q", msg)
	}
	if read(t, filepath.Join(r.MainDir, "a.txt")) != "one\ntwo\nthree\nfour\n" || read(t, filepath.Join(r.MainDir, "README")) != "lead\n" {
		t.Error("merged files wrong")
	}
	if st := git(t, r.MainDir, "status", "--porcelain"); st != "" || res.Commit != git(t, r.MainDir, "rev-parse", "main") {
		t.Errorf("after merge: status %q, result %+v", st, res)
	}
	again, err := r.Merge(c, w.Branch, MergeOptions{})
	if err != nil || !again.UpToDate || again.Commit != "" || git(t, r.MainDir, "rev-parse", "HEAD") != res.Commit {
		t.Errorf("second merge: %+v, %v", again, err)
	}
	if merged, err := r.IsMerged(c, "main", w.Branch); err != nil || !merged {
		t.Errorf("IsMerged after a merge commit = %v, %v", merged, err)
	}
	// merging into a linked worktree's branch works the same
	w2 := create(t, r, dir, "lead2")
	w3, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "sub"), Branch: "ce/lead2/sub", From: w2.Path})
	if err != nil {
		t.Fatal(err)
	}
	commitIn(t, w3.Path, "sub work", map[string]string{"sub.txt": "sub\n"})
	res, err = r.Merge(c, w3.Branch, MergeOptions{Target: w2.Path})
	if err != nil || res.Branch != w2.Branch || read(t, filepath.Join(w2.Path, "sub.txt")) != "sub\n" {
		t.Errorf("merge into a worktree: %+v, %v", res, err)
	}
	if merged, _ := r.IsMerged(c, "main", w3.Branch); merged {
		t.Error("merged into main, though only the lead's worktree got it")
	}
}

func TestDiffOptions(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "d")
	var big strings.Builder
	for i := range 400 {
		big.WriteString(strings.Repeat("é", i%7+1) + " line\n")
	}
	commitIn(t, w.Path, "big", map[string]string{"big.txt": big.String(), "src/lib.go": "package lib\n\nfunc F() {}\n"})
	if err := os.WriteFile(filepath.Join(w.Path, "image.bin"), []byte{0, 1, 2, 0, 255, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, w.Path, "rm", "-q", "README")
	git(t, w.Path, "mv", "a.txt", "b.txt")

	d, err := r.Diff(c, w.Path, DiffOptions{StatOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "README", Status: "D", Deleted: 1},
		{Path: "b.txt", OldPath: "a.txt", Status: "R"},
		{Path: "big.txt", Status: "A", Added: 400},
		{Path: "image.bin", Status: "A", Binary: true},
		{Path: "src/lib.go", Status: "M", Added: 2},
	}
	if !slices.Equal(d.Files, want) {
		t.Errorf("stat files\n%+v\nwant\n%+v", d.Files, want)
	}
	if d.Patch != "" || d.Size != 0 {
		t.Error("stat only returned a patch")
	}

	d, err = r.Diff(c, w.Path, DiffOptions{Paths: []string{"src/", "*.bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(d.Files); !slices.Equal(got, []string{"A image.bin", "M src/lib.go"}) {
		t.Errorf("filtered files %v", got)
	}
	if !strings.Contains(d.Patch, "Binary files /dev/null and b/image.bin differ") || strings.Contains(d.Patch, "big.txt") {
		t.Errorf("filtered patch:\n%s", d.Patch)
	}

	full, err := r.Diff(c, w.Path, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pages strings.Builder
	off, n := 0, 0
	for {
		p, err := r.Diff(c, w.Path, DiffOptions{Offset: off, Limit: 1001})
		if err != nil {
			t.Fatal(err)
		}
		if p.Size != full.Size || len(p.Patch) > 1001 {
			t.Fatalf("page at %d: size %d of %d, %d bytes", off, p.Size, full.Size, len(p.Patch))
		}
		pages.WriteString(p.Patch)
		if n++; !p.Truncated {
			break
		}
		if p.Next <= off || p.Next >= full.Size || !utf8.RuneStart(full.Patch[p.Next]) {
			t.Fatalf("next offset %d after %d does not start a character", p.Next, off)
		}
		off = p.Next
	}
	if pages.String() != full.Patch || n < 3 {
		t.Errorf("%d pages do not add up to the patch (%d vs %d bytes)", n, pages.Len(), len(full.Patch))
	}
	if p, err := r.Diff(c, w.Path, DiffOptions{Offset: full.Size + 10, Limit: 10}); err != nil || p.Patch != "" || p.Truncated {
		t.Errorf("page past the end: %+v, %v", p, err)
	}
	if _, err := r.Diff(c, w.Path, DiffOptions{Offset: -1}); err == nil {
		t.Error("negative offset accepted")
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "s")
	st, err := r.Status(c, w.Path, "")
	if err != nil || st.Dirty || st.Ahead != 0 || len(st.Committed) != 0 || st.Branch != "ce/lead/s" {
		t.Fatalf("fresh status %+v, %v", st, err)
	}
	commitIn(t, w.Path, "one", map[string]string{"one.txt": "1\n"})
	commitIn(t, w.Path, "two", map[string]string{"a.txt": "changed\n"})
	write(t, filepath.Join(w.Path, "README"), "edited\n")
	write(t, filepath.Join(w.Path, "new.txt"), "new\n")
	st, err = r.Status(c, w.Path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Dirty || st.Ahead != 2 || st.Base != w.Base || st.Head != git(t, w.Path, "rev-parse", "HEAD") {
		t.Errorf("status %+v", st)
	}
	if got := paths(st.Committed); !slices.Equal(got, []string{"A one.txt", "M a.txt"}) {
		t.Errorf("committed %v", got)
	}
	if got := paths(st.Uncommitted); !slices.Equal(got, []string{"A new.txt", "M README"}) {
		t.Errorf("uncommitted %v", got)
	}
	if st.LastCommit.IsZero() || st.LastCommit.Unix() != mustInt(t, git(t, w.Path, "log", "-1", "--format=%ct")) {
		t.Errorf("last commit %v", st.LastCommit)
	}
	other, err := r.Status(c, w.Path, "HEAD~1")
	if err != nil || other.Ahead != 1 {
		t.Errorf("status against HEAD~1: %+v, %v", other, err)
	}
	if _, err := r.Status(c, r.MainDir, ""); err == nil || !strings.Contains(err.Error(), "no recorded base") {
		t.Errorf("status of a checkout ce did not make: %v", err)
	}
}

func mustInt(t testing.TB, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestArchiveTwice(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "ar")
	write(t, filepath.Join(w.Path, "draft.txt"), "first\n")
	first, err := r.Archive(c, w.Path, "ar")
	if err != nil {
		t.Fatal(err)
	}
	if same, err := r.Archive(c, w.Path, "ar"); err != nil || same != first {
		t.Errorf("archiving an unchanged state made %s, want %s (%v)", same, first, err)
	}
	write(t, filepath.Join(w.Path, "draft.txt"), "second\n")
	second, err := r.Archive(c, w.Path, "ar")
	if err != nil {
		t.Fatal(err)
	}
	if p := git(t, r.MainDir, "log", "-1", "--format=%P", second); p != w.Base+" "+first {
		t.Errorf("second archive parents %q, want the tip and the first archive", p)
	}
	if got := git(t, r.MainDir, "show", ArchiveRef("ar")+":draft.txt"); got != "second" {
		t.Errorf("archive holds %q", got)
	}
	if st := git(t, w.Path, "status", "--porcelain"); st != "?? draft.txt" {
		t.Errorf("archiving changed the worktree: %q", st)
	}
	if _, err := r.Archive(c, w.Path, "bad id"); err == nil {
		t.Error("archive id with a space accepted")
	}
	if _, err := r.Archive(c, w.Path, "x..y"); err == nil || !strings.Contains(err.Error(), "valid ref") {
		t.Errorf("archive id x..y: %v", err)
	}
}

func TestParseChanges(t *testing.T) {
	raw := ":100644 100644 aaa bbb M\x00m.txt\x00:000000 100644 000 ccc A\x00new\tfile\x00:100644 100644 ddd ddd R100\x00old\x00new\x00" +
		"1\t2\tm.txt\x00-\t-\tnew\tfile\x000\t0\t\x00old\x00new\x00"
	got, err := parseChanges(fields0([]byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "m.txt", Status: "M", Added: 1, Deleted: 2},
		{Path: "new\tfile", Status: "A", Binary: true},
		{Path: "new", OldPath: "old", Status: "R"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parse\n%+v\nwant\n%+v", got, want)
	}
	if _, err := parseChanges([]string{":bad"}); err == nil {
		t.Error("bad input accepted")
	}
}

// TestSnapshotRacyGit: a file rewritten with the same size and timestamp
// as its index entry, in the same second as the index was written (racy
// git), still shows as changed: the snapshot's index copy keeps the
// index's time, so git checks such entries' content.
func TestSnapshotRacyGit(t *testing.T) {
	t.Parallel()
	r, c, w := repoWithWorktree(t, "racy")
	f := filepath.Join(w.Path, "a.txt")
	then := time.Now().Add(-time.Hour).Truncate(time.Second)
	write(t, f, "staged\n")
	if err := os.Chtimes(f, then, then); err != nil {
		t.Fatal(err)
	}
	git(t, w.Path, "add", "a.txt")
	write(t, f, "edited\n")
	if err := os.Chtimes(f, then, then); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(w.GitDir, "index"), then, then); err != nil {
		t.Fatal(err)
	}
	if st := git(t, w.Path, "--no-optional-locks", "status", "--porcelain"); st != "MM a.txt" {
		t.Fatalf("git status = %q: the setup is not racy", st)
	}
	snap, err := r.Snapshot(c, w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, w.Path, "cat-file", "blob", snap.Tree+":a.txt"); got != "edited" {
		t.Errorf("the snapshot holds %q, not the file on disk", got)
	}
}

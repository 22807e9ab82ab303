package gitwork

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestGC(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	root := filepath.Join(dir, "wt")

	merged := create(t, r, dir, "merged")
	commitIn(t, merged.Path, "merged work", map[string]string{"m.txt": "m\n"})
	if _, err := r.Merge(c, merged.Branch, MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	archived := create(t, r, dir, "archived")
	commitIn(t, archived.Path, "archived work", map[string]string{"ar.txt": "ar\n"})
	write(t, filepath.Join(archived.Path, "untracked.txt"), "kept in the archive\n")
	if _, err := r.Archive(c, archived.Path, "agent-archived"); err != nil {
		t.Fatal(err)
	}
	stale := create(t, r, dir, "stale")
	if _, err := r.Archive(c, stale.Path, "agent-stale"); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(stale.Path, "after.txt"), "written after the archive\n")
	unmerged := create(t, r, dir, "unmerged")
	commitIn(t, unmerged.Path, "unmerged work", map[string]string{"u.txt": "u\n"})
	owned := create(t, r, dir, "owned")
	commitIn(t, owned.Path, "owned work", map[string]string{"o.txt": "o\n"})
	ownedClean := create(t, r, dir, "owned-clean")
	vanished := create(t, r, dir, "vanished")
	if err := os.RemoveAll(vanished.Path); err != nil {
		t.Fatal(err)
	}
	git(t, r.MainDir, "branch", "ce/lead/branch-merged")
	git(t, r.MainDir, "branch", "ce/lead/branch-unmerged", unmerged.Branch)
	git(t, r.MainDir, "branch", "feature/not-ours", unmerged.Branch)
	orphan := create(t, r, dir, "orphan") // then git forgets it
	if err := os.RemoveAll(orphan.GitDir); err != nil {
		t.Fatal(err)
	}
	git(t, r.MainDir, "branch", "-D", orphan.Branch)
	write(t, filepath.Join(root, "unknown", "notes.txt"), "who knows\n")
	other, _ := newRepo(t)
	if _, err := other.Create(c, CreateOptions{Path: filepath.Join(root, "other-repo"), Branch: "ce/lead/other"}); err != nil {
		t.Fatal(err)
	}

	opt := GCOptions{
		BranchPrefix: "ce/",
		Root:         root,
		Owned: func(branch, path string) bool {
			return branch == owned.Branch || branch == ownedClean.Branch || path == owned.Path
		},
		DryRun: true,
	}
	want := []string{
		"branch ce/lead/branch-merged merged",
		"branch ce/lead/branch-unmerged unmerged",
		"branch ce/lead/vanished merged",
		"directory orphan merged",
		"directory unknown unknown",
		"worktree ce/lead/archived archived",
		"worktree ce/lead/merged merged",
		"worktree ce/lead/stale unmerged",
		"worktree ce/lead/unmerged unmerged",
		"worktree ce/lead/vanished vanished",
	}
	items, err := r.GC(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(items); !slices.Equal(got, want) {
		t.Errorf("dry run found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, it := range items {
		if it.Removed || it.Detail == "" {
			t.Errorf("dry run item %+v", it)
		}
	}
	for _, p := range []string{merged.Path, archived.Path, orphan.Path, filepath.Join(root, "unknown")} {
		if !exists(p) {
			t.Errorf("dry run removed %s", p)
		}
	}
	if n := worktreeCount(t, r.MainDir); n != 8 {
		t.Errorf("dry run: %d worktrees, want 8", n)
	}

	opt.DryRun = false
	items, err = r.GC(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(items); !slices.Equal(got, want) {
		t.Errorf("gc found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, it := range items {
		if it.Removed != it.State.Removable() {
			t.Errorf("item %+v: removed %v", it, it.Removed)
		}
	}
	for _, p := range []string{merged.Path, archived.Path, orphan.Path} {
		if exists(p) {
			t.Errorf("%s survived", p)
		}
	}
	for _, p := range []string{stale.Path, unmerged.Path, owned.Path, ownedClean.Path, filepath.Join(root, "unknown", "notes.txt"), filepath.Join(root, "other-repo", "README")} {
		if !exists(p) {
			t.Errorf("%s was removed", p)
		}
	}
	wantBranches := []string{"ce/lead/branch-unmerged", "ce/lead/owned", "ce/lead/owned-clean", "ce/lead/stale", "ce/lead/unmerged"}
	if got := branches(t, r.MainDir, "ce/"); !slices.Equal(got, wantBranches) {
		t.Errorf("branches left %v, want %v", got, wantBranches)
	}
	if got := branches(t, r.MainDir, "feature/"); len(got) != 1 {
		t.Errorf("a branch outside the prefix went: %v", got)
	}
	if n := worktreeCount(t, r.MainDir); n != 5 {
		t.Errorf("%d worktrees left, want main, stale, unmerged, owned, owned-clean", n)
	}
	if got := git(t, r.MainDir, "show", "refs/ce/archive/agent-archived:untracked.txt"); got != "kept in the archive" {
		t.Errorf("archive lost the untracked file: %q", got)
	}

	items, err = r.GC(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(items); !slices.Equal(got, []string{
		"branch ce/lead/branch-unmerged unmerged",
		"directory unknown unknown",
		"worktree ce/lead/stale unmerged",
		"worktree ce/lead/unmerged unmerged",
	}) {
		t.Errorf("second gc found %v", got)
	}
	if _, err := r.GC(c, GCOptions{BranchPrefix: "ce/"}); err == nil || !strings.Contains(err.Error(), "Owned") {
		t.Errorf("gc without an owner predicate: %v", err)
	}
}

func summary(items []GCItem) []string {
	var out []string
	for _, it := range items {
		name := it.Branch
		if it.Kind == GCDirectory {
			name = filepath.Base(it.Path)
		}
		out = append(out, fmt.Sprintf("%s %s %s", it.Kind, name, it.State))
	}
	sort.Strings(out)
	return out
}

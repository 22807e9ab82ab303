package gitwork

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv makes the test binary a create helper for the multi-process
// test: it opens the repository in GITWORK_REPO, waits for a line on stdin
// (so that all helpers start together), then creates the worktree
// GITWORK_PATH on branch GITWORK_BRANCH.
const helperEnv = "GITWORK_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "create" {
		os.Exit(helperCreate())
	}
	// No user or system git config: tests see git's defaults, and commits
	// by this package fall back to its own identity.
	home, err := os.MkdirTemp("", "gitwork-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", home)
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

func helperCreate() int {
	ctx := context.Background()
	r, err := Open(ctx, os.Getenv("GITWORK_REPO"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bufio.NewReader(os.Stdin).ReadString('\n')
	_, err = r.Create(ctx, CreateOptions{Path: os.Getenv("GITWORK_PATH"), Branch: os.Getenv("GITWORK_BRANCH")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// git runs git in dir as a test user and returns its trimmed stdout.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitErr(dir, args...)
	if err != nil {
		t.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return out
}

func gitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	cmd.Dir = dir
	cmd.Env = gitEnv(nil)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// newRepo makes a repository with one commit on main (README, a.txt,
// src/lib.go) and opens it. The returned dir holds it at dir/main;
// worktrees go under dir/wt.
func newRepo(t testing.TB) (*Repo, string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "main")
	git(t, dir, "init", "-q", "-b", "main", main)
	write(t, filepath.Join(main, "README"), "readme\n")
	write(t, filepath.Join(main, "a.txt"), "one\ntwo\nthree\n")
	write(t, filepath.Join(main, "src/lib.go"), "package lib\n")
	git(t, main, "add", "-A")
	git(t, main, "commit", "-q", "-m", "initial")
	r, err := Open(ctx(t), main)
	if err != nil {
		t.Fatal(err)
	}
	r.LockWait = 2 * time.Minute
	return r, dir
}

// repoWithWorktree is newRepo (its dir is filepath.Dir(r.MainDir)), the
// test's context, and the worktree create makes by name.
func repoWithWorktree(t testing.TB, name string) (r *Repo, c context.Context, w *Worktree) {
	t.Helper()
	r, dir := newRepo(t)
	return r, ctx(t), create(t, r, dir, name)
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// create makes a worktree dir/wt/<name> on branch ce/lead/<name>.
func create(t testing.TB, r *Repo, dir, name string) *Worktree {
	t.Helper()
	wt, err := r.Create(ctx(t), CreateOptions{Path: filepath.Join(dir, "wt", name), Branch: "ce/lead/" + name})
	if err != nil {
		t.Fatal(err)
	}
	return wt
}

// commitIn writes files in dir and commits them as the test user.
func commitIn(t testing.TB, dir, msg string, files map[string]string) string {
	t.Helper()
	for f, content := range files {
		write(t, filepath.Join(dir, f), content)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

// fingerprint hashes every file of a checkout outside .git, plus its index,
// HEAD, the commit HEAD names, and which merge-state files exist.
func fingerprint(t testing.TB, dir string) map[string]string {
	t.Helper()
	fp := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		var b []byte
		if d.Type()&fs.ModeSymlink != 0 {
			s, err := os.Readlink(p)
			if err != nil {
				return err
			}
			b = []byte("link:" + s)
		} else if b, err = os.ReadFile(p); err != nil {
			return err
		}
		info, _ := d.Info()
		sum := sha256.Sum256(b)
		fp["file "+rel] = hex.EncodeToString(sum[:]) + " " + info.Mode().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gitDir := git(t, dir, "rev-parse", "--path-format=absolute", "--git-dir")
	for _, f := range []string{"index", "HEAD", "MERGE_HEAD", "MERGE_MSG", "SQUASH_MSG", "AUTO_MERGE", "ORIG_HEAD"} {
		b, err := os.ReadFile(filepath.Join(gitDir, f))
		if err != nil {
			fp["git "+f] = "absent"
			continue
		}
		sum := sha256.Sum256(b)
		fp["git "+f] = hex.EncodeToString(sum[:])
	}
	fp["head commit"] = git(t, dir, "rev-parse", "HEAD")
	return fp
}

func sameFingerprint(t *testing.T, before, after map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if before[k] != after[k] {
			diffs = append(diffs, fmt.Sprintf("%s: %q -> %q", k, before[k], after[k]))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("target changed:\n%s", strings.Join(diffs, "\n"))
	}
}

func paths(files []File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Status+" "+f.Path)
	}
	sort.Strings(out)
	return out
}

func branches(t testing.TB, dir, prefix string) []string {
	t.Helper()
	out := git(t, dir, "for-each-ref", "--format=%(refname:short)", "refs/heads/"+prefix)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// worktreeCount is the number of worktrees git lists, the main one
// included.
func worktreeCount(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(git(t, dir, "worktree", "list", "--porcelain"), "\n") {
		if strings.HasPrefix(l, "worktree ") {
			n++
		}
	}
	return n
}

// parallel runs f n times at once and returns the errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

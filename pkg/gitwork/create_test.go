package gitwork

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	got, err := Inspect(c, filepath.Join(r.MainDir, "src", "lib.go"))
	if err != nil {
		t.Fatal(err)
	}
	head := git(t, r.MainDir, "rev-parse", "HEAD")
	want := Checkout{Dir: r.MainDir, GitDir: filepath.Join(r.MainDir, ".git"), CommonDir: filepath.Join(r.MainDir, ".git"), Branch: "main", Head: head}
	if got != want {
		t.Errorf("Inspect(main) = %+v, want %+v", got, want)
	}
	w := create(t, r, dir, "in")
	os.MkdirAll(filepath.Join(w.Path, "sub"), 0o755)
	got, err = Inspect(c, filepath.Join(w.Path, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != w.Path || got.CommonDir != r.CommonDir || got.Branch != "ce/lead/in" || got.GitDir != w.GitDir || got.Detached() {
		t.Errorf("Inspect(worktree) = %+v", got)
	}
	r2, err := Open(c, w.Path)
	if err != nil || r2.MainDir != r.MainDir || r2.CommonDir != r.CommonDir {
		t.Errorf("Open(worktree) = %+v, %v", r2, err)
	}
	git(t, r.MainDir, "checkout", "-q", "--detach")
	got, err = Inspect(c, r.MainDir)
	if err != nil || got.Branch != "" || got.Head != head || !got.Detached() {
		t.Errorf("detached Inspect = %+v, %v", got, err)
	}
	_, err = Inspect(c, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not inside a git checkout") {
		t.Errorf("Inspect outside a repository: %v", err)
	}
}

func TestCreateLocksAndRecordsBase(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	w, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "state", "wt", "one"), Branch: "ce/lead/one", LockReason: "ce agent one"})
	if err != nil {
		t.Fatal(err)
	}
	wts, err := r.Worktrees(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(wts) != 2 || !wts[1].Locked || wts[1].LockReason != "ce agent one" || wts[1].Branch != "ce/lead/one" || !wts[0].Main {
		t.Errorf("worktrees %+v", wts)
	}
	if base, err := r.RecordedBase(c, w.Path); err != nil || base != git(t, r.MainDir, "rev-parse", "main") {
		t.Errorf("recorded base %q, %v", base, err)
	}
	if _, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "other"), Branch: "ce/lead/one"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create on the same branch: %v", err)
	}
	if _, err := r.Create(c, CreateOptions{Path: w.Path, Branch: "ce/lead/two"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create at the same path: %v", err)
	}
	if _, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "bad"), Branch: "ce/bad..name"}); err == nil || !strings.Contains(err.Error(), "not a valid branch name") {
		t.Errorf("bad branch name: %v", err)
	}
	if _, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "nobase"), Branch: "ce/x", Base: "no-such-ref"}); err == nil || !strings.Contains(err.Error(), "names no commit") {
		t.Errorf("missing base: %v", err)
	}
	if err := r.UnlockWorktree(c, w.Path); err != nil {
		t.Fatal(err)
	}
	if err := r.UnlockWorktree(c, w.Path); err != nil {
		t.Errorf("unlocking twice: %v", err)
	}
	if wts, _ := r.Worktrees(c); wts[1].Locked {
		t.Error("still locked")
	}
	if err := r.LockWorktree(c, w.Path, "again"); err != nil {
		t.Fatal(err)
	}
	if wts, _ := r.Worktrees(c); !wts[1].Locked || wts[1].LockReason != "again" {
		t.Errorf("relocked: %+v", wts[1])
	}
}

// TestDetachedHeadBase: a lead on a detached HEAD starts a worker there,
// and the base is recorded as the commit.
func TestDetachedHeadBase(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	first := git(t, r.MainDir, "rev-parse", "HEAD")
	commitIn(t, r.MainDir, "second", map[string]string{"second.txt": "2\n"})
	git(t, r.MainDir, "checkout", "-q", "--detach", first)

	w, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "d"), Branch: "ce/lead/d"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Base != first || git(t, w.Path, "rev-parse", "HEAD") != first {
		t.Errorf("base %s, worktree at %s, want %s", w.Base, git(t, w.Path, "rev-parse", "HEAD"), first)
	}
	if exists(filepath.Join(w.Path, "second.txt")) {
		t.Error("the worktree has a file from after the base")
	}
	write(t, filepath.Join(w.Path, "w.txt"), "w\n")
	st, err := r.Status(c, w.Path, "")
	if err != nil || st.Base != first || !st.Dirty || st.Ahead != 0 || len(st.Uncommitted) != 1 {
		t.Errorf("status %+v, %v", st, err)
	}
	// a merge into a detached checkout is refused
	if _, err := r.Merge(c, w.Branch, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "detached") {
		t.Errorf("merge into a detached HEAD: %v", err)
	}
	// an explicit base names any commit
	w2, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "e"), Branch: "ce/lead/e", Base: "main"})
	if err != nil || w2.Base == first || !exists(filepath.Join(w2.Path, "second.txt")) {
		t.Errorf("base main: %+v, %v", w2, err)
	}
}

// TestConcurrentCreates: many creates at once in one process all succeed;
// the repository lock keeps git's own locks from colliding.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	const n = 12
	errs := parallel(n, func(i int) error {
		_, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", fmt.Sprint("w", i)), Branch: fmt.Sprint("ce/lead/w", i)})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
	}
	if got := worktreeCount(t, r.MainDir); got != n+1 {
		t.Errorf("%d worktrees, want %d", got, n+1)
	}
	// and as many discards at once
	errs = parallel(n, func(i int) error {
		_, err := r.Discard(c, filepath.Join(dir, "wt", fmt.Sprint("w", i)), "", DiscardOptions{})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("discard %d: %v", i, err)
		}
	}
	if got := worktreeCount(t, r.MainDir); got != 1 || len(branches(t, r.MainDir, "ce/")) != 0 {
		t.Errorf("after discards: %d worktrees, branches %v", got, branches(t, r.MainDir, "ce/"))
	}
	// plain git branch -D in parallel fails with "could not lock config
	// file"; DeleteBranch does not
	const m = 24
	for i := range m {
		git(t, r.MainDir, "branch", fmt.Sprint("ce/del", i))
	}
	errs = parallel(m, func(i int) error { return r.DeleteBranch(c, fmt.Sprint("ce/del", i), "", true) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("delete %d: %v", i, err)
		}
	}
}

// TestConcurrentCreatesAcrossProcesses: the same with separate processes
// (this test binary re-executed), which share nothing but the flock.
func TestConcurrentCreatesAcrossProcesses(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	type proc struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stderr *strings.Builder
	}
	var procs []proc
	for i := range n {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=create", "GITWORK_REPO="+r.MainDir,
			"GITWORK_PATH="+filepath.Join(dir, "wt", fmt.Sprint("p", i)), "GITWORK_BRANCH="+fmt.Sprint("ce/lead/p", i))
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, proc{cmd, in, &stderr})
	}
	for _, p := range procs {
		io.WriteString(p.stdin, "go\n")
		p.stdin.Close()
	}
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("process %d: %v: %s", i, err, p.stderr)
		}
		if s := p.stderr.String(); strings.Contains(s, "lock") {
			t.Errorf("process %d hit a lock: %s", i, s)
		}
	}
	if got := worktreeCount(t, r.MainDir); got != n+1 {
		t.Errorf("%d worktrees, want %d", got, n+1)
	}
}

// TestLockNamesHolder: a caller that cannot get the lock is told who has
// it.
func TestLockNamesHolder(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	l, err := r.Lock(c)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	r.LockWait = 50 * time.Millisecond
	_, err = r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "x"), Branch: "ce/x"})
	if err == nil {
		t.Fatal("create ran while another holder had the lock")
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(msg, "busy") {
		t.Errorf("lock error %q does not name the holder", msg)
	}
	if exists(filepath.Join(dir, "wt", "x")) {
		t.Error("create left a directory")
	}
}

// TestWorktreeInclude copies ignored files named by .worktreeinclude, and
// nothing a checkout brings or an agent would see as its own work.
func TestWorktreeInclude(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	m := r.MainDir
	write(t, filepath.Join(m, ".gitignore"), ".env\n*.local\nnode_modules/\ncache/\n")
	write(t, filepath.Join(m, IncludeFile), ".env\n*.local\nnode_modules/\nnotignored.txt\ntracked.cfg\n")
	write(t, filepath.Join(m, "tracked.cfg"), "tracked\n")
	git(t, m, "add", "-A")
	git(t, m, "commit", "-q", "-m", "ignore rules")
	write(t, filepath.Join(m, ".env"), "SECRET=1\n")
	os.Chmod(filepath.Join(m, ".env"), 0o600)
	write(t, filepath.Join(m, "config", "dev.local"), "local\n")
	write(t, filepath.Join(m, "node_modules", "pkg", "index.js"), "js\n")
	write(t, filepath.Join(m, "cache", "big.bin"), "not included\n")
	write(t, filepath.Join(m, "notignored.txt"), "untracked but not ignored\n")
	write(t, filepath.Join(m, "tracked.cfg"), "modified in the lead's checkout\n")
	os.Symlink(".env", filepath.Join(m, "link.local"))

	w, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "inc"), Branch: "ce/lead/inc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".env", "config/dev.local", "link.local", "node_modules/pkg/index.js"}
	if !slices.Equal(w.Copied, want) {
		t.Errorf("copied %v, want %v", w.Copied, want)
	}
	if got := read(t, filepath.Join(w.Path, ".env")); got != "SECRET=1\n" {
		t.Errorf(".env = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(w.Path, ".env")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %v, %v", fi.Mode(), err)
	}
	if l, err := os.Readlink(filepath.Join(w.Path, "link.local")); err != nil || l != ".env" {
		t.Errorf("link.local -> %q, %v", l, err)
	}
	if exists(filepath.Join(w.Path, "cache")) || exists(filepath.Join(w.Path, "notignored.txt")) {
		t.Error("copied a file not both included and ignored")
	}
	if got := read(t, filepath.Join(w.Path, "tracked.cfg")); got != "tracked\n" {
		t.Errorf("tracked file overwritten: %q", got)
	}
	if st := git(t, w.Path, "status", "--porcelain"); st != "" {
		t.Errorf("the copies show as work: %q", st)
	}
}

func TestSetupCommand(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	c := ctx(t)
	w, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "ok"), Branch: "ce/ok",
		Setup: `echo "setting up in $(pwd) with $CE_TEST"; touch .setup-done`, SetupEnv: []string{"CE_TEST=yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(w.SetupOutput), "setting up in "+w.Path+" with yes") || !exists(filepath.Join(w.Path, ".setup-done")) {
		t.Errorf("setup output %q", w.SetupOutput)
	}

	w, err = r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "fail"), Branch: "ce/fail",
		Setup: "echo installing; echo 'npm ERR! missing script' >&2; exit 3"})
	var serr *SetupError
	if !errors.As(err, &serr) || serr.ExitCode != 3 || serr.TimedOut {
		t.Fatalf("failing setup: %v", err)
	}
	if w == nil || !exists(w.Path) || len(branches(t, r.MainDir, "ce/fail")) != 1 {
		t.Error("a failed setup deleted the worktree")
	}
	if msg := err.Error(); !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "npm ERR! missing script") || !strings.Contains(msg, "kept") {
		t.Errorf("setup failure message %q", msg)
	}
	if !strings.Contains(string(serr.Output), "installing") {
		t.Errorf("output %q", serr.Output)
	}
}

// TestSetupTimeout: a setup command that hangs, with a child that keeps
// the output pipe open, is stopped at its timeout and the worktree kept.
func TestSetupTimeout(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	start := time.Now()
	w, err := r.Create(ctx(t), CreateOptions{Path: filepath.Join(dir, "wt", "slow"), Branch: "ce/slow",
		Setup: "echo starting; sleep 300 & sleep 300", SetupTimeout: 300 * time.Millisecond})
	var serr *SetupError
	if !errors.As(err, &serr) || !serr.TimedOut {
		t.Fatalf("setup error = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("a 300ms setup timeout took %s", d)
	}
	if !strings.Contains(err.Error(), "did not finish within 300ms") || !strings.Contains(string(serr.Output), "starting") {
		t.Errorf("timeout error %q, output %q", err, serr.Output)
	}
	if w == nil || !exists(w.Path) {
		t.Error("the worktree was deleted")
	}
}

func TestLowDiskRefused(t *testing.T) {
	t.Parallel()
	r, dir := newRepo(t)
	path := filepath.Join(dir, "wt", "big")
	_, err := r.Create(ctx(t), CreateOptions{Path: path, Branch: "ce/big", MinFreeBytes: 1 << 62})
	if err == nil {
		t.Fatal("created a worktree with 4 EiB required")
	}
	if msg := err.Error(); !strings.Contains(msg, "not enough disk space") || !strings.Contains(msg, "4.0 EiB required") {
		t.Errorf("message %q", msg)
	}
	if exists(path) || len(branches(t, r.MainDir, "ce/")) != 0 {
		t.Error("a refused create left something behind")
	}
	if _, err := r.Create(ctx(t), CreateOptions{Path: path, Branch: "ce/big", MinFreeBytes: 1 << 20}); err != nil {
		t.Errorf("1 MiB required: %v", err)
	}
}

// TestIgnoresInheritedGitEnvironment: a GIT_DIR or GIT_INDEX_FILE left in
// the environment (ce run from a git hook) does not redirect commands.
func TestIgnoresInheritedGitEnvironment(t *testing.T) {
	r, dir := newRepo(t)
	other, _ := newRepo(t)
	t.Setenv("GIT_DIR", other.CommonDir)
	t.Setenv("GIT_WORK_TREE", other.MainDir)
	t.Setenv("GIT_INDEX_FILE", filepath.Join(other.CommonDir, "index"))
	c := ctx(t)
	w, err := r.Create(c, CreateOptions{Path: filepath.Join(dir, "wt", "env"), Branch: "ce/env"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.Path, "x.txt"), "x\n")
	d, err := r.Diff(c, w.Path, DiffOptions{})
	if err != nil || len(d.Files) != 1 || d.Files[0].Path != "x.txt" {
		t.Errorf("diff %+v, %v", d.Files, err)
	}
	if b := branches(t, other.MainDir, "ce/"); len(b) != 0 {
		t.Errorf("the other repository got branches %v", b)
	}
	if b := branches(t, r.MainDir, "ce/"); len(b) != 1 {
		t.Errorf("branches %v", b)
	}
}

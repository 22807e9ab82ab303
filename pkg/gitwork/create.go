package gitwork

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// IncludeFile names the file, at the top of the source checkout, whose
// gitignore-style patterns select ignored files to copy into new worktrees
// (.env and the like, which a checkout does not bring).
const IncludeFile = ".worktreeinclude"

// baseFile, in a worktree's own git directory, records its base commit;
// git worktree remove deletes it with the rest of that directory.
const baseFile = "ce-base"

// CreateOptions describes a new worktree.
type CreateOptions struct {
	// Path is the directory to create; it must not exist yet.
	Path string
	// Branch is the new branch, e.g. ce/<lead>/<name>-<shortid>; it must
	// not exist yet.
	Branch string
	// Base is the branch, tag or commit to start from, resolved in From;
	// "" means From's HEAD. A detached HEAD works.
	Base string
	// From is the checkout that Base is resolved in and whose
	// .worktreeinclude files are copied; "" means the main worktree.
	From string
	// LockReason is recorded by git worktree lock; "" means "ce agent
	// worktree".
	LockReason string
	// MinFreeBytes refuses to create the worktree when the filesystem
	// holding Path has less space available.
	MinFreeBytes uint64
	// Setup is a command run with sh -c in the new worktree after the
	// copies, e.g. "npm ci"; "" runs nothing.
	Setup string
	// SetupTimeout bounds Setup; zero means DefaultSetupTimeout.
	SetupTimeout time.Duration
	// SetupEnv is added to Setup's environment.
	SetupEnv []string
}

// DefaultSetupTimeout bounds a setup command when CreateOptions.SetupTimeout
// is zero.
const DefaultSetupTimeout = 10 * time.Minute

// Worktree is a worktree Create made.
type Worktree struct {
	Path   string
	Branch string
	// Base is the commit the branch starts from.
	Base string
	// GitDir is the worktree's own git directory.
	GitDir string
	// Copied lists the files copied by .worktreeinclude, relative to Path.
	Copied []string
	// SetupOutput is the setup command's output (its last 64 KiB).
	SetupOutput []byte
}

// Create makes a locked worktree at opt.Path on the new branch opt.Branch,
// starting at opt.Base, then copies the .worktreeinclude files and runs the
// setup command outside the repository lock. When the copy or the setup
// fails it returns the worktree together with the error (a *SetupError for
// the setup) and deletes nothing.
func (r *Repo) Create(ctx context.Context, opt CreateOptions) (*Worktree, error) {
	if opt.Path == "" || opt.Branch == "" {
		return nil, errors.New("a new worktree needs a path and a branch name")
	}
	path, err := filepath.Abs(opt.Path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("cannot create a worktree at %s: it already exists; choose a new path or remove it", path)
	}
	from := opt.From
	if from == "" {
		from = r.MainDir
	}
	src, err := r.Inspect(ctx, from)
	if err != nil {
		return nil, err
	}
	if src.CommonDir != r.CommonDir {
		return nil, fmt.Errorf("cannot start a worktree of %s from %s: it belongs to another repository (%s)", r.MainDir, src.Dir, src.CommonDir)
	}
	baseRev := opt.Base
	if baseRev == "" {
		baseRev = "HEAD"
	}
	base, err := r.Resolve(ctx, src.Dir, baseRev)
	if err != nil {
		return nil, fmt.Errorf("cannot create worktree %s: %w", path, err)
	}
	if res, err := r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1, 128},
		args: []string{"check-ref-format", "--branch", opt.Branch}}); err != nil {
		return nil, err
	} else if res.code != 0 {
		return nil, fmt.Errorf("%q is not a valid branch name: see git check-ref-format", opt.Branch)
	}
	if err := checkFree(path, opt.MinFreeBytes); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the parent of worktree %s: %w", path, err)
	}
	reason := opt.LockReason
	if reason == "" {
		reason = "ce agent worktree"
	}

	h, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	wt, err := r.add(ctx, h, path, opt.Branch, base, reason)
	h.unlock()
	if err != nil {
		return nil, err
	}

	if wt.Copied, err = r.copyIncluded(ctx, src.Dir, wt.Path); err != nil {
		return wt, fmt.Errorf("worktree %s was created but copying the %s files failed: %w; copy them by hand or remove the worktree", wt.Path, IncludeFile, err)
	}
	if opt.Setup != "" {
		wt.SetupOutput, err = runSetup(ctx, wt.Path, opt.Setup, opt.SetupTimeout, opt.SetupEnv)
		if err != nil {
			return wt, err
		}
	}
	return wt, nil
}

// add runs git worktree add with the lock held. The worktree is locked in
// the same step, so that no prune ever sees it unlocked.
func (r *Repo) add(ctx context.Context, h *held, path, branch, base, reason string) (*Worktree, error) {
	res, err := r.run(ctx, gitCmd{dir: r.CommonDir, query: true, codes: []int{1},
		args: []string{"show-ref", "--verify", "--quiet", "refs/heads/" + branch}})
	if err != nil {
		return nil, err
	}
	if res.code == 0 {
		return nil, fmt.Errorf("branch %s already exists: choose another name, or discard the worktree that uses it", branch)
	}
	if _, err := r.change(ctx, h, r.MainDir, "worktree", "add", "--quiet", "--no-track", "--lock", "--reason", reason,
		"-b", branch, path, base); err != nil {
		return nil, fmt.Errorf("cannot create worktree %s: %w", path, err)
	}
	c, err := r.Inspect(ctx, path)
	if err != nil {
		return nil, err
	}
	wt := &Worktree{Path: c.Dir, Branch: branch, Base: base, GitDir: c.GitDir}
	if err := os.WriteFile(filepath.Join(c.GitDir, baseFile), []byte(base+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("worktree %s was created but its base could not be recorded: %w", path, err)
	}
	return wt, nil
}

// RecordedBase returns the base commit Create recorded for the worktree at
// dir.
func (r *Repo) RecordedBase(ctx context.Context, dir string) (string, error) {
	c, err := r.Inspect(ctx, dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(c.GitDir, baseFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("worktree %s has no recorded base (it was not made by ce): pass the base commit", c.Dir)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// base resolves an explicit base in dir, or reads the recorded one.
func (r *Repo) base(ctx context.Context, dir, rev string) (string, error) {
	if rev == "" {
		return r.RecordedBase(ctx, dir)
	}
	return r.Resolve(ctx, dir, rev)
}

// checkFree refuses when the filesystem that will hold path has fewer than
// min bytes available to unprivileged users.
func checkFree(path string, min uint64) error {
	if min == 0 {
		return nil
	}
	dir := path
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("cannot check the free disk space for %s: %w", path, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < min {
		return fmt.Errorf("not enough disk space for a worktree at %s: %s available on its filesystem, %s required; free some space or lower the minimum", path, bytesHuman(free), bytesHuman(min))
	}
	return nil
}

func bytesHuman(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

package gitwork

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Repo is one git repository with all its worktrees. Its methods take the
// repository lock themselves for every change they make.
type Repo struct {
	// CommonDir is the absolute git directory shared by all worktrees.
	CommonDir string
	// MainDir is the top level of the main worktree.
	MainDir string
	// CommandTimeout bounds each git command; zero means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
	// LockWait bounds the wait for the repository lock; zero means
	// DefaultLockWait.
	LockWait time.Duration
	// Identity signs the commits this package makes when git has no
	// user.name or user.email configured; zero means DefaultIdentity.
	Identity Identity
}

// Identity is a commit author and committer.
type Identity struct {
	Name  string
	Email string
}

// DefaultIdentity is the author of ce's commits in a repository without a
// configured identity.
var DefaultIdentity = Identity{Name: "ce", Email: "ce@localhost"}

// Checkout describes one working tree: the main one or a linked worktree.
type Checkout struct {
	// Dir is the top level of the working tree.
	Dir string
	// GitDir is the checkout's own git directory (.git of the main
	// worktree, .git/worktrees/<name> of a linked one).
	GitDir string
	// CommonDir is the repository's shared git directory.
	CommonDir string
	// Branch is the short name of the checked-out branch, "" when HEAD is
	// detached.
	Branch string
	// Head is the commit HEAD points at, "" on a branch without commits.
	Head string
}

// Detached reports whether HEAD names a commit rather than a branch.
func (c Checkout) Detached() bool { return c.Branch == "" && c.Head != "" }

// Inspect identifies the checkout containing path (any file or directory
// inside it).
func Inspect(ctx context.Context, path string) (Checkout, error) {
	return inspect(ctx, 0, path)
}

func inspect(ctx context.Context, timeout time.Duration, path string) (Checkout, error) {
	dir, err := existingDir(path)
	if err != nil {
		return Checkout{}, err
	}
	res, err := runGit(ctx, timeout, gitCmd{dir: dir, query: true,
		args: []string{"rev-parse", "--path-format=absolute", "--show-toplevel", "--git-dir", "--git-common-dir"}})
	if err != nil {
		var gerr *GitError
		if errors.As(err, &gerr) && gerr.Err == nil {
			return Checkout{}, fmt.Errorf("%s is not inside a git checkout (%s): pass a path inside the repository's working tree", path, strings.TrimSpace(gerr.Stderr))
		}
		return Checkout{}, err
	}
	l := lines(res.out)
	if len(l) != 3 {
		return Checkout{}, fmt.Errorf("git rev-parse in %s printed %q, not three paths: check the git version (2.38 or later is needed)", dir, res.out)
	}
	c := Checkout{Dir: l[0], GitDir: l[1], CommonDir: l[2]}
	c.Branch, c.Head, err = head(ctx, timeout, c.Dir)
	return c, err
}

// head returns the branch and commit of HEAD in dir.
func head(ctx context.Context, timeout time.Duration, dir string) (branch, commit string, err error) {
	res, err := runGit(ctx, timeout, gitCmd{dir: dir, query: true, args: []string{"symbolic-ref", "-q", "HEAD"}, codes: []int{1}})
	if err != nil {
		return "", "", err
	}
	if res.code == 0 {
		branch = strings.TrimPrefix(trim(res.out), "refs/heads/")
	}
	res, err = runGit(ctx, timeout, gitCmd{dir: dir, query: true, args: []string{"rev-parse", "-q", "--verify", "HEAD^{commit}"}, codes: []int{1}})
	if err != nil {
		return "", "", err
	}
	return branch, trim(res.out), nil
}

// existingDir is path if it is a directory, else its parent, checked to
// exist.
func existingDir(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("cannot use %s as a git checkout: %w; pass a path inside the repository's working tree", path, err)
	}
	if !fi.IsDir() {
		abs = filepath.Dir(abs)
	}
	return abs, nil
}

// Open returns the repository containing path, which may be inside the main
// worktree or any linked one.
func Open(ctx context.Context, path string) (*Repo, error) {
	c, err := Inspect(ctx, path)
	if err != nil {
		return nil, err
	}
	r := &Repo{CommonDir: c.CommonDir}
	wts, err := r.Worktrees(ctx)
	if err != nil {
		return nil, err
	}
	if len(wts) == 0 || wts[0].Bare {
		return nil, fmt.Errorf("repository %s has no main worktree (bare repository): ce needs a checkout to merge into", c.CommonDir)
	}
	r.MainDir = wts[0].Path
	return r, nil
}

func (r *Repo) timeout() time.Duration { return r.CommandTimeout }

// query runs a command that changes nothing but adds objects.
func (r *Repo) query(ctx context.Context, dir string, args ...string) ([]byte, error) {
	res, err := runGit(ctx, r.timeout(), gitCmd{dir: dir, args: args, query: true})
	return res.out, err
}

// change runs a mutating command; the held lock is the caller's proof that
// it holds the repository lock.
func (r *Repo) change(ctx context.Context, _ *held, dir string, args ...string) ([]byte, error) {
	res, err := runGit(ctx, r.timeout(), gitCmd{dir: dir, args: args})
	return res.out, err
}

func (r *Repo) run(ctx context.Context, c gitCmd) (gitResult, error) {
	return runGit(ctx, r.timeout(), c)
}

// Inspect identifies the checkout containing path, as the package-level
// Inspect does, with the Repo's command timeout.
func (r *Repo) Inspect(ctx context.Context, path string) (Checkout, error) {
	return inspect(ctx, r.timeout(), path)
}

// Resolve returns the commit a revision (branch, tag, SHA, HEAD...) names,
// evaluated in dir ("" means the main worktree), so that HEAD is that
// checkout's HEAD.
func (r *Repo) Resolve(ctx context.Context, dir, rev string) (string, error) {
	if dir == "" {
		dir = r.MainDir
	}
	res, err := r.run(ctx, gitCmd{dir: dir, query: true, codes: []int{1},
		args: []string{"rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}"}})
	if err != nil {
		return "", err
	}
	if res.code != 0 {
		return "", fmt.Errorf("%q names no commit in %s: pass a branch, tag or commit that exists", rev, dir)
	}
	return trim(res.out), nil
}

// WorktreeInfo is one entry of git worktree list.
type WorktreeInfo struct {
	Path string
	// Head is the checked-out commit.
	Head string
	// Branch is the short branch name, "" when detached.
	Branch     string
	Bare       bool
	Main       bool
	Locked     bool
	LockReason string
	// Missing reports that the directory no longer exists.
	Missing bool
}

// Worktrees lists the repository's worktrees, the main one first.
func (r *Repo) Worktrees(ctx context.Context) ([]WorktreeInfo, error) {
	out, err := r.query(ctx, r.CommonDir, "worktree", "list", "--porcelain", "-z")
	if err != nil {
		return nil, err
	}
	var wts []WorktreeInfo
	for _, f := range fields0(out) {
		k, v, _ := strings.Cut(f, " ")
		if k == "worktree" {
			wts = append(wts, WorktreeInfo{Path: v, Main: len(wts) == 0})
			continue
		}
		if len(wts) == 0 {
			continue
		}
		w := &wts[len(wts)-1]
		switch k {
		case "HEAD":
			w.Head = v
		case "branch":
			w.Branch = strings.TrimPrefix(v, "refs/heads/")
		case "bare":
			w.Bare = true
		case "locked":
			w.Locked, w.LockReason = true, v
		}
	}
	for i := range wts {
		if !wts[i].Bare {
			if _, err := os.Stat(wts[i].Path); errors.Is(err, os.ErrNotExist) {
				wts[i].Missing = true
			}
		}
	}
	return wts, nil
}

// findWorktree returns the linked worktree at path.
func (r *Repo) findWorktree(ctx context.Context, path string) (WorktreeInfo, error) {
	wts, err := r.Worktrees(ctx)
	if err != nil {
		return WorktreeInfo{}, err
	}
	for _, w := range wts {
		if samePath(w.Path, path) {
			if w.Main {
				return WorktreeInfo{}, fmt.Errorf("%s is the repository's main worktree, not an agent worktree", path)
			}
			return w, nil
		}
	}
	return WorktreeInfo{}, fmt.Errorf("%s is not a worktree of %s: git worktree list shows the known ones", path, r.MainDir)
}

// samePath compares paths after resolving symbolic links where they exist.
func samePath(a, b string) bool {
	return canonical(a) == canonical(b)
}

func canonical(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	// a vanished path: resolve its nearest existing parent
	dir, base := filepath.Split(filepath.Clean(p))
	if dir != "" && dir != p {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, base)
		}
	}
	return filepath.Clean(p)
}

// identityEnv returns the author and committer variables to use in dir:
// none when git has a user.name and user.email, else the Repo's Identity.
func (r *Repo) identityEnv(ctx context.Context, dir string) ([]string, error) {
	res, err := r.run(ctx, gitCmd{dir: dir, query: true, codes: []int{1},
		args: []string{"config", "--get-regexp", `^user\.(name|email)$`}})
	if err != nil {
		return nil, err
	}
	var name, email bool
	for _, l := range lines(res.out) {
		k, v, _ := strings.Cut(l, " ")
		name = name || (k == "user.name" && v != "")
		email = email || (k == "user.email" && v != "")
	}
	env := []string{}
	id := r.Identity
	if id.Name == "" || id.Email == "" {
		id = DefaultIdentity
	}
	if !name && os.Getenv("GIT_AUTHOR_NAME") == "" {
		env = append(env, "GIT_AUTHOR_NAME="+id.Name)
	}
	if !name && os.Getenv("GIT_COMMITTER_NAME") == "" {
		env = append(env, "GIT_COMMITTER_NAME="+id.Name)
	}
	if !email && os.Getenv("GIT_AUTHOR_EMAIL") == "" && os.Getenv("EMAIL") == "" {
		env = append(env, "GIT_AUTHOR_EMAIL="+id.Email)
	}
	if !email && os.Getenv("GIT_COMMITTER_EMAIL") == "" && os.Getenv("EMAIL") == "" {
		env = append(env, "GIT_COMMITTER_EMAIL="+id.Email)
	}
	return env, nil
}

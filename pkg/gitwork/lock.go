package gitwork

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
)

// DefaultLockWait bounds the wait for the repository lock when
// Repo.LockWait is zero.
const DefaultLockWait = time.Minute

// LockName is the repository lock file in the git common directory.
const LockName = "ce.lock"

// held is proof that the repository lock is held.
type held struct{ l *lockfile.Lock }

// LockPath is the repository lock file, <git-common-dir>/ce.lock.
func (r *Repo) LockPath() string { return filepath.Join(r.CommonDir, LockName) }

// Lock takes the repository lock for the caller's own git changes, waiting
// at most LockWait. The Repo's methods take it themselves: do not call them
// while holding it, or they wait for it until LockWait runs out.
func (r *Repo) Lock(ctx context.Context) (*lockfile.Lock, error) {
	h, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	return h.l, nil
}

func (r *Repo) lock(ctx context.Context) (*held, error) {
	wait := r.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	l, err := lockfile.Acquire(ctx, r.LockPath())
	if err != nil {
		return nil, fmt.Errorf("repository %s is busy (waited up to %s): %w; try again when that process is done", r.MainDir, wait, err)
	}
	return &held{l: l}, nil
}

func (h *held) unlock() { h.l.Unlock() }

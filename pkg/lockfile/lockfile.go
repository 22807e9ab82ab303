// Package lockfile provides the lock protocol shared by every ce process: an
// exclusive flock (gofrs/flock) on a file under <state>/locks, with the
// holder's pid and command written into the file so that a process that has
// to wait can say who it waits for. Other programs may rely on this protocol.
//
// A lock held by a process that dies is released by the kernel at once.
package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Lock is a held lock.
type Lock struct {
	fl *flock.Flock
}

// ErrBusy is returned by TryLock when another process holds the lock.
var ErrBusy = errors.New("lock is held by another process")

// Acquire takes the exclusive lock at path, waiting until ctx is done. A
// waiter blocks in flock(2) rather than retrying, so that many waiters are
// served by the kernel in turn instead of racing each other.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		got := make(chan error, 1)
		go func() { got <- fl.Lock() }()
		select {
		case err = <-got:
			ok = err == nil
		case <-ctx.Done():
			// The blocked flock cannot be cancelled: release the lock
			// as soon as it is granted.
			go func() {
				if <-got == nil {
					fl.Unlock()
				}
			}()
		}
	}
	if err != nil || !ok {
		holder := Holder(path)
		if holder == "" {
			holder = "another process"
		}
		if err == nil {
			return nil, fmt.Errorf("timed out waiting for lock %s held by %s", filepath.Base(path), holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &Lock{fl: fl}
	l.writeHolder()
	return l, nil
}

// AcquireTimeout is Acquire with a timeout.
func AcquireTimeout(path string, d time.Duration) (*Lock, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return Acquire(ctx, path)
}

// TryLock takes the lock if it is free and returns ErrBusy if it is not.
func TryLock(path string) (*Lock, error) {
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, ErrBusy
	}
	l := &Lock{fl: fl}
	l.writeHolder()
	return l, nil
}

// TryLockFor is TryLock retried for up to d: a lock another process only
// probes (Held) is free again within microseconds, and must not read as
// taken.
func TryLockFor(path string, d time.Duration) (*Lock, error) {
	deadline := time.Now().Add(d)
	for {
		l, err := TryLock(path)
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Held reports whether some process holds the lock at path, without taking
// it for longer than the check.
func Held(path string) bool {
	l, err := TryLock(path)
	if err != nil {
		return errors.Is(err, ErrBusy)
	}
	l.Unlock()
	return false
}

func (l *Lock) writeHolder() {
	f, err := os.OpenFile(l.fl.Path(), os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	f.Truncate(0)
	fmt.Fprintf(f, "%d %s\n", os.Getpid(), strings.Join(commandLine(), " "))
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.fl != nil {
		l.fl.Unlock()
	}
}

// Holder returns "pid N (command)" for the process that last took the lock at
// path, or "" when unknown.
func Holder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	pid, cmd, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if cmd == "" {
		return "pid " + pid
	}
	return fmt.Sprintf("pid %s (%s)", pid, cmd)
}

func commandLine() []string {
	args := append([]string(nil), os.Args...)
	if len(args) > 0 {
		args[0] = filepath.Base(args[0])
	}
	if len(args) > 2 {
		args = args[:2] // the subcommand; later arguments may be private (prompts)
	}
	return args
}

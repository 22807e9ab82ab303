// Package statedir provides the layout of ce's state directory and safe
// writes into it. The layout is a contract: every ce command, extension and
// script may rely on the paths returned here (ce(7), STATE DIRECTORY).
//
// The directory is created 0700 and every file in it 0600, so other users on
// the machine can read nothing, not even session names.
package statedir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// EnvVar names the environment variable that selects the state directory.
const EnvVar = "CE_STATE_DIR"

// maxSocketPath is the longest path a Unix socket can have on Linux (sun_path
// is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Dir is an opened state directory.
type Dir struct {
	Root string
}

// Resolve returns the state directory path: the flag value if given, else
// $CE_STATE_DIR, else $XDG_STATE_HOME/ce, else ~/.local/state/ce.
func Resolve(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if v := os.Getenv(EnvVar); v != "" {
		return filepath.Abs(v)
	}
	if v := os.Getenv("XDG_STATE_HOME"); v != "" {
		return filepath.Join(v, "ce"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the state directory: %v (set %s or --state-dir)", err, EnvVar)
	}
	return filepath.Join(home, ".local", "state", "ce"), nil
}

// Open creates the state directory and its subdirectories if needed, all
// 0700, and tightens the mode of an existing root that is more open.
func Open(root string) (*Dir, error) {
	d := &Dir{Root: root}
	for _, sub := range []string{"", "locks", "runs", "logs", "sock"} {
		p := filepath.Join(root, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, fmt.Errorf("create state directory %s: %w", p, err)
		}
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(root, 0o700); err != nil {
			return nil, fmt.Errorf("state directory %s is mode %o and cannot be made 0700: %w", root, fi.Mode().Perm(), err)
		}
	}
	return d, nil
}

// Path joins elements under the root.
func (d *Dir) Path(elem ...string) string {
	return filepath.Join(append([]string{d.Root}, elem...)...)
}

// SessionsDB is the session store.
func (d *Dir) SessionsDB() string { return d.Path("sessions.db") }

// QueueDB is the queue store.
func (d *Dir) QueueDB() string { return d.Path("queue.db") }

// Lock is the lock file guarding the named resource.
func (d *Dir) Lock(name string) string { return d.Path("locks", name+".lock") }

// TmuxSocket is the socket of ce's own tmux server.
func (d *Dir) TmuxSocket() string { return d.Path("tmux.sock") }

// BridgeSocket is the broker's socket.
func (d *Dir) BridgeSocket() string { return d.Path("bridge.sock") }

// RunsDir holds the run directories of one session.
func (d *Dir) RunsDir(session string) string { return d.Path("runs", session) }

// RunDir is the directory of one run.
func (d *Dir) RunDir(session, run string) string { return d.Path("runs", session, run) }

// LogFile is the log of a daemon.
func (d *Dir) LogFile(daemon string) string { return d.Path("logs", daemon+".log") }

// RunnerSocket is the control socket of a session's runner. The name is
// hashed so that long session names and deep state directories still fit
// the socket path limit.
func (d *Dir) RunnerSocket(session string) (string, error) {
	sum := sha256.Sum256([]byte(session))
	p := d.Path("sock", hex.EncodeToString(sum[:6])+".sock")
	if len(p) > maxSocketPath {
		return "", fmt.Errorf("socket path %s is %d bytes, over the limit of %d: use a shorter --state-dir", p, len(p), maxSocketPath)
	}
	return p, nil
}

// WriteFile writes data to path atomically: a temporary file in the same
// directory is written, fsynced and renamed over path, and the directory is
// fsynced, so readers see the old content or the new, never a part.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so that a rename or create in it is durable.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

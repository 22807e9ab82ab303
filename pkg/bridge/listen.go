package bridge

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
)

// MaxSocketPath is the longest Unix socket path Linux accepts (sun_path is
// 108 bytes with its terminating NUL).
const MaxSocketPath = 107

// EnvSocket names the environment variable that points clients at a
// broker socket other than the state directory's (ce-mcp servers get it).
const EnvSocket = "CE_BRIDGE_SOCKET"

// Socket is the socket clients should dial: $CE_BRIDGE_SOCKET, else the
// state directory's bridge.sock.
func Socket(st *statedir.Dir) string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	return st.BridgeSocket()
}

// AlreadyRunningError is Listen's error when a broker answers on the path.
type AlreadyRunningError struct{ Path string }

func (e *AlreadyRunningError) Error() string { return "a broker already serves " + e.Path }

// PathTooLongError is Listen's error for a path over MaxSocketPath bytes.
type PathTooLongError struct{ Path string }

func (e *PathTooLongError) Error() string {
	return fmt.Sprintf("socket path %s is %d bytes, over the limit of %d", e.Path, len(e.Path), MaxSocketPath)
}

// Listen makes the broker's socket at path: it dials first, so a live
// broker there is an AlreadyRunningError and a dead one's file is removed,
// then listens with the socket mode 0600. The directory should be 0700
// (statedir.Open). Closing the listener removes the socket file, unless
// it has been replaced by another broker's meanwhile. Two processes racing
// to Listen on one path should hold a lock around the call.
func Listen(path string) (net.Listener, error) {
	if len(path) > MaxSocketPath {
		return nil, &PathTooLongError{Path: path}
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, &AlreadyRunningError{Path: path}
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket: move it away", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove the stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return nil, err
	}
	return &listener{UnixListener: ln, path: path, id: statID(path)}, nil
}

// listener removes its socket file on Close if the file is still its own.
type listener struct {
	*net.UnixListener
	path string
	id   fileID
	once sync.Once
}

func (l *listener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if id := statID(l.path); id != (fileID{}) && id == l.id {
			os.Remove(l.path)
		}
	})
	return err
}

// fileID identifies a file across renames and replacements.
type fileID struct{ dev, ino uint64 }

func statID(path string) fileID {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}
}

// peerCred returns the pid and uid of a Unix socket's peer.
func peerCred(c net.Conn) (pid, uid int, err error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, 0, errors.New("not a unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return int(cred.Pid), int(cred.Uid), nil
}

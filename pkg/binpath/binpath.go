// Package binpath finds ce's own programs (ce-queue, ce-mcp, ce-X) for the
// programs that start them: beside the running executable first, so that a
// build directory and an installed tree each use their own binaries, then
// on PATH. Paths are absolute, as they are handed to tmux and claude, which
// start them from other directories. It is an implementation detail of ce.
package binpath

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Find returns the absolute path of the ce program name.
func Find(name string) (string, error) {
	if d := Dir(); d != "" {
		p := filepath.Join(d, name)
		if executable(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside this program or on PATH: install ce (make install) or add its bin directory to PATH", name)
	}
	return filepath.Abs(p)
}

// Dir is the directory of the running executable, "" if unknown.
func Dir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Dir(exe)
}

// Dirs lists where ce programs are looked for, in order: Dir, then PATH.
func Dirs() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	if d := Dir(); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Package benchbin builds ce's binaries once for benchmarks that time the
// real commands: a TestMain calls Main, which builds only when benchmarks
// were asked for (so `go test` stays fast) and removes them afterwards.
package benchbin

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Module is the import path prefix of ce's packages.
const Module = "github.com/ce-platform/ce/"

// Main runs the tests of m. When benchmarks run, it first builds the given
// packages (paths relative to the module, e.g. "cmd/ce-cron") statically,
// as make build does, into a temporary directory put first on PATH, and
// stores that directory in *dir. It returns the exit status for os.Exit.
func Main(m *testing.M, dir *string, pkgs ...string) int {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		return m.Run()
	}
	d, err := os.MkdirTemp("", "ce-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", d + "/"}
	for _, p := range pkgs {
		if !strings.HasPrefix(p, Module) {
			p = Module + p
		}
		args = append(args, p)
	}
	cmd := exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	os.Setenv("PATH", d+string(os.PathListSeparator)+os.Getenv("PATH"))
	*dir = d
	return m.Run()
}

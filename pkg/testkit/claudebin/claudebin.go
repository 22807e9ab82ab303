// Package claudebin installs the pinned real claude CLI once per machine and
// builds the environment that points it at a fake API, so tests can run the
// real thing offline.
//
// The install lives in a cache directory shared by every test process;
// a lock file next to it makes parallel `go test` processes install once.
// This package is test support inside ce; other programs should not rely on
// it.
package claudebin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// Version is the claude release ce is tested against; the fixtures under
// shared/claude-cli were recorded with it.
const Version = "2.1.328"

// Package is the npm package spec that installs Version.
const Package = "@anthropic-ai/claude-code@" + Version

// installTimeout bounds one npm install (about 15 s and 356 MB when the
// registry is reachable) and the wait for another process doing it.
const installTimeout = 10 * time.Minute

// Dir is the cache directory of the install: $CE_CLAUDE_CACHE, else
// $XDG_CACHE_HOME/ce-test/claude-<Version>, else
// ~/.cache/ce-test/claude-<Version>.
func Dir() (string, error) {
	if d := os.Getenv("CE_CLAUDE_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("claudebin: no cache directory: %w (set CE_CLAUDE_CACHE)", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "ce-test", "claude-"+Version), nil
}

// Ensure returns the path of a claude binary that reports Version,
// installing it with npm into Dir first if needed.
func Ensure() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "node_modules", ".bin", "claude")
	if checkVersion(bin) == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	if err := install(ctx, dir, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// install runs npm under the lock, unless another process finished the same
// install while this one waited for it.
func install(ctx context.Context, dir, bin string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("claudebin: %w", err)
	}
	lockPath := dir + ".lock"
	lock := flock.New(lockPath)
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("claudebin: lock %s: %w", lockPath, err)
	}
	if !ok {
		holder, _ := os.ReadFile(lockPath)
		ok, err = lock.TryLockContext(ctx, 100*time.Millisecond)
		if !ok {
			return fmt.Errorf("claudebin: waiting for %s, held by %q: %v", lockPath, strings.TrimSpace(string(holder)), err)
		}
	}
	defer func() { _ = lock.Unlock() }()
	// Say who holds the lock, for the error above in another process.
	_ = os.WriteFile(lockPath, fmt.Appendf(nil, "%d %s\n", os.Getpid(), strings.Join(os.Args, " ")), 0o644)

	if checkVersion(bin) == nil {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("claudebin: claude %s is not installed in %s and npm is not on PATH: install Node.js and npm, or run `npm install --prefix %s %s` by hand", Version, dir, dir, Package)
	}
	// The package's postinstall must run: it links the platform's native
	// binary over a stub; with --ignore-scripts bin/claude only prints an
	// error.
	if out, err := run(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", Package); err != nil {
		return fmt.Errorf("claudebin: npm install %s into %s: %w\n%s\nhint: check that the npm registry is reachable, or set CE_CLAUDE_CACHE to a directory holding an install", Package, dir, err, tail(out))
	}
	verr := checkVersion(bin)
	if verr == nil {
		return nil
	}
	// An earlier install with --ignore-scripts leaves the stub, and npm
	// does not rerun the postinstall of a package it already has.
	script := filepath.Join(dir, "node_modules", "@anthropic-ai", "claude-code", "install.cjs")
	if _, err := os.Stat(script); err == nil {
		if out, err := run(ctx, "node", script); err != nil {
			return fmt.Errorf("claudebin: node %s: %w\n%s", script, err, tail(out))
		}
		verr = checkVersion(bin)
	}
	if verr != nil {
		return fmt.Errorf("claudebin: after npm install: %w\nhint: remove %s and try again", verr, dir)
	}
	return nil
}

// checkVersion runs `bin --version` and wants it to report Version.
func checkVersion(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := run(ctx, bin, "--version")
	if err != nil {
		return fmt.Errorf("%s --version: %w: %s", bin, err, tail(out))
	}
	if v, _, _ := strings.Cut(strings.TrimSpace(string(out)), " "); v != Version {
		return fmt.Errorf("%s --version printed %q, want %s", bin, strings.TrimSpace(string(out)), Version)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.Bytes(), err
}

// tail keeps the end of a command's output, where npm puts its error.
func tail(out []byte) string {
	const n = 2000
	s := strings.TrimSpace(string(out))
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// Env is the environment, to append to a clean base such as Environ's, that
// runs claude against the fake API at apiURL with its state under home.
// It turns off everything that would reach the network besides the API
// (telemetry, error reports, update checks, the connectivity probe) and
// leaves IS_SANDBOX unset, so tests see claude's real refusal of
// --permission-mode bypassPermissions as root.
func Env(home, apiURL string) []string {
	return []string{
		"HOME=" + home,
		"ANTHROPIC_BASE_URL=" + apiURL,
		"ANTHROPIC_API_KEY=test-key",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_AUTOUPDATER=1",
	}
}

// Environ is os.Environ without the variables that would steer claude
// elsewhere (another account, endpoint, config directory, or the markers
// of running inside claude), followed by Env.
func Environ(home, apiURL string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !steersClaude(k) {
			env = append(env, kv)
		}
	}
	return append(env, Env(home, apiURL)...)
}

func steersClaude(key string) bool {
	switch key {
	case "HOME", "IS_SANDBOX", "CLAUDECODE", "XDG_CONFIG_HOME", "AWS_BEARER_TOKEN_BEDROCK", "DISABLE_AUTOUPDATER",
		"DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING":
		return true
	}
	return strings.HasPrefix(key, "ANTHROPIC_") || strings.HasPrefix(key, "CLAUDE_")
}

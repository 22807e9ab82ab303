package claudebin

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv("CE_CLAUDE_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if d, _ := Dir(); d != "/xdg/ce-test/claude-"+Version {
		t.Errorf("with XDG_CACHE_HOME: %s", d)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/h")
	if d, _ := Dir(); d != "/h/.cache/ce-test/claude-"+Version {
		t.Errorf("with HOME: %s", d)
	}
	t.Setenv("CE_CLAUDE_CACHE", "/c")
	if d, _ := Dir(); d != "/c" {
		t.Errorf("with CE_CLAUDE_CACHE: %s", d)
	}
}

// TestEnsure uses the shared cache: the first run on a machine installs
// claude from the npm registry.
func TestEnsure(t *testing.T) {
	bin, err := Ensure()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), Version+" ") {
		t.Fatalf("%s --version: %q %v", bin, out, err)
	}
}

// fakeNPM puts an npm on PATH that "installs" a claude script printing
// version, counting its runs in the returned file.
func fakeNPM(t *testing.T, version string) (count string) {
	t.Helper()
	dir := t.TempDir()
	count = filepath.Join(dir, "count")
	script := `#!/bin/sh
echo run >> "` + count + `"
while [ $# -gt 0 ]; do
	case "$1" in --prefix) dir=$2; shift ;; esac
	shift
done
[ -n "$FAIL_NPM" ] && { echo "npm error 404 Not Found" >&2; exit 1; }
sleep 0.2
mkdir -p "$dir/node_modules/.bin"
printf '#!/bin/sh\necho "` + version + ` (Claude Code)"\n' > "$dir/node_modules/.bin/claude"
chmod +x "$dir/node_modules/.bin/claude"
`
	if err := os.WriteFile(filepath.Join(dir, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return count
}

func runs(t *testing.T, count string) int {
	b, err := os.ReadFile(count)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run")
}

func TestEnsureInstallsOnce(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "claude")
	t.Setenv("CE_CLAUDE_CACHE", cache)
	count := fakeNPM(t, Version)

	// Separate flock handles conflict even within one process, so this
	// stands in for parallel test binaries.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			var bin string
			bin, errs[i] = Ensure()
			if errs[i] == nil && bin != filepath.Join(cache, "node_modules", ".bin", "claude") {
				t.Errorf("bin %s", bin)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := runs(t, count); n != 1 {
		t.Errorf("npm ran %d times, want 1", n)
	}
	lock, err := os.ReadFile(cache + ".lock")
	if err != nil || !strings.Contains(string(lock), "claudebin.test") {
		t.Errorf("lock file names no holder: %q %v", lock, err)
	}
}

func TestEnsureErrors(t *testing.T) {
	t.Run("wrong version", func(t *testing.T) {
		t.Setenv("CE_CLAUDE_CACHE", t.TempDir())
		fakeNPM(t, "9.9.9")
		_, err := Ensure()
		if err == nil || !strings.Contains(err.Error(), `printed "9.9.9 (Claude Code)", want `+Version) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("npm fails", func(t *testing.T) {
		t.Setenv("CE_CLAUDE_CACHE", t.TempDir())
		fakeNPM(t, Version)
		t.Setenv("FAIL_NPM", "1")
		_, err := Ensure()
		if err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "hint:") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no npm", func(t *testing.T) {
		t.Setenv("CE_CLAUDE_CACHE", t.TempDir())
		t.Setenv("PATH", t.TempDir())
		_, err := Ensure()
		if err == nil || !strings.Contains(err.Error(), "npm is not on PATH") || !strings.Contains(err.Error(), Package) {
			t.Errorf("got %v", err)
		}
	})
}

func TestEnviron(t *testing.T) {
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "secret")
	t.Setenv("CLAUDE_CONFIG_DIR", "/elsewhere")
	t.Setenv("CLAUDECODE", "1")
	t.Setenv("IS_SANDBOX", "1")
	t.Setenv("KEEP_ME", "yes")
	env := Environ("/home/x", "http://127.0.0.1:1")
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "ANTHROPIC_AUTH_TOKEN" || k == "CLAUDE_CONFIG_DIR" || k == "CLAUDECODE" || k == "IS_SANDBOX" {
			t.Errorf("kept %s", kv)
		}
	}
	for _, want := range append(Env("/home/x", "http://127.0.0.1:1"), "KEEP_ME=yes") {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s", want)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return !strings.HasPrefix(kv, "HOME=") })); n != 1 {
		t.Errorf("%d HOME entries", n)
	}
}

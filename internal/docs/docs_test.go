package docs

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/clidoc"
)

// TestCommittedDocsAreFresh fails when man/ or completions/ differ from
// what the CLI definitions generate, or a visible flag is missing from its
// man page.
func TestCommittedDocsAreFresh(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := clidoc.CheckFiles(root, files, "make man completions"); err != nil {
		t.Fatal(err)
	}
	for _, a := range Apps() {
		k, err := a.Parser(io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile(filepath.Join(root, "man", a.Name+".1"))
		if err != nil {
			t.Fatal(err)
		}
		if missing := clidoc.MissingFlags(page, k); len(missing) > 0 {
			t.Errorf("%s(1) lacks %v", a.Name, missing)
		}
	}
}

// TestMakeInstall installs into a temporary root and checks that binaries,
// man pages (with ce(7) and ce-config(5)) and completions land where PREFIX
// and DESTDIR say.
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", filepath.Join("..", ".."), "install", "DESTDIR="+dest, "PREFIX=/usr")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, a := range Apps() {
		for _, p := range []string{
			"usr/bin/" + a.Name,
			"usr/share/man/man1/" + a.Name + ".1",
			"usr/share/bash-completion/completions/" + a.Name,
			"usr/share/zsh/site-functions/_" + a.Name,
			"usr/share/fish/vendor_completions.d/" + a.Name + ".fish",
		} {
			fi, err := os.Stat(filepath.Join(dest, p))
			if err != nil {
				t.Errorf("missing %s", p)
				continue
			}
			if strings.HasPrefix(p, "usr/bin/") && fi.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable", p)
			}
		}
	}
	for _, p := range []string{"usr/share/man/man7/ce.7", "usr/share/man/man5/ce-config.5"} {
		if _, err := os.Stat(filepath.Join(dest, p)); err != nil {
			t.Errorf("missing %s", p)
		}
	}
}

// TestConfigPageFollowsExample checks that ce-config(5) is made from the
// example configuration: a key added there shows up on the page, and a key
// without a comment is refused.
func TestConfigPageFollowsExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	page, err := configPage(example)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`\fBagent.command: claude\fR`, `\fBqueue.max_parallel: 8\fR`, `\fBenabled: [ask, sessions, memory, vault, cron]\fR`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("ce-config(5) lacks %q", want)
		}
	}
	added := strings.Replace(string(example), "queue:\n", "queue:\n  # A new knob.\n  new_knob: 7\n", 1)
	page, err = configPage([]byte(added))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `\fBqueue.new_knob: 7\fR`) || !strings.Contains(string(page), "A new knob.") {
		t.Error("a key added to the example is not on the page")
	}
	bare := strings.Replace(string(example), "queue:\n", "queue:\n  new_knob: 7\n", 1)
	if _, err := configPage([]byte(bare)); err == nil || !strings.Contains(err.Error(), "queue.new_knob") {
		t.Errorf("a key without a comment: %v", err)
	}
}

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
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
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
// man pages and completions land where PREFIX and DESTDIR say.
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
}

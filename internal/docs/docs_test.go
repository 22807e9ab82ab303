package docs

import (
	"io"
	"os"
	"path/filepath"
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

package binpath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindBesideThenPath(t *testing.T) {
	dir := t.TempDir()
	tool := filepath.Join(dir, "ce-test-tool")
	if err := os.WriteFile(tool, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ce-not-exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	got, err := Find("ce-test-tool")
	if err != nil || got != tool {
		t.Fatalf("Find = %q, %v; want %q", got, err, tool)
	}
	if _, err := Find("ce-not-exec"); err == nil {
		t.Fatal("found a file that is not executable")
	}
	_, err = Find("ce-missing")
	if err == nil || err.Error() != "ce-missing not found beside this program or on PATH: install ce (make install) or add its bin directory to PATH" {
		t.Fatalf("missing: %v", err)
	}
	if ds := Dirs(); len(ds) < 2 || ds[0] != Dir() || ds[len(ds)-1] != dir {
		t.Fatalf("Dirs = %v", ds)
	}
}

package clidoc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFiles(t *testing.T) {
	files, err := Files(sampleModel(t), sampleOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"completions/_ce-sample", "completions/ce-sample.bash", "completions/ce-sample.fish", "man/ce-sample.1"}
	if got := sortedKeys(files); !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if string(files["man/ce-sample.1"]) != string(sampleMan(t)) {
		t.Error("man/ce-sample.1 is not Man's output")
	}
	if string(files["completions/_ce-sample"]) != script(t, "zsh") {
		t.Error("completions/_ce-sample is not the zsh script")
	}
	opts := sampleOpts
	opts.Section = 8
	files, err = Files(sampleModel(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["man/ce-sample.8"]; !ok {
		t.Errorf("section 8 page missing from %q", sortedKeys(files))
	}
}

func TestCheckFiles(t *testing.T) {
	files, err := Files(sampleModel(t), sampleOpts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := CheckFiles(dir, files, "make docs"); err == nil || !strings.Contains(err.Error(), "man/ce-sample.1 is missing: run make docs") {
		t.Errorf("empty dir: %v", err)
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if err := CheckFiles(dir, files, "make docs"); err != nil {
		t.Errorf("fresh files: %v", err)
	}

	// Writing again leaves up-to-date files alone.
	page := filepath.Join(dir, "man", "ce-sample.1")
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(page, old, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(page); err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o644 {
		t.Errorf("rewrote an up-to-date file: %v %v", fi.ModTime(), err)
	}

	if err := os.WriteFile(page, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "completions", "ce-sample.fish")); err != nil {
		t.Fatal(err)
	}
	err = CheckFiles(dir, files, "make docs")
	want := "completions/ce-sample.fish is missing: run make docs\nman/ce-sample.1 is stale: run make docs"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want:\n%s", err, want)
	}

	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if err := CheckFiles(dir, files, "make docs"); err != nil {
		t.Errorf("after regenerating: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

func TestMissingFlags(t *testing.T) {
	k := sampleModel(t)
	page := string(sampleMan(t))
	if got := MissingFlags([]byte(page), k); got != nil {
		t.Errorf("generated page misses %q", got)
	}

	// Drop the --detach entry and one of the two --json entries.
	cut := strings.Replace(page, "\\fB\\-d\\fR, \\fB\\-\\-detach\\fR", "", 1)
	cut = strings.Replace(cut, "\\fB\\-\\-json\\fR\nPrint JSON lines.", "", 1)
	want := []string{"ce-sample send --detach"}
	if got := MissingFlags([]byte(cut), k); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (--json is still documented once)", got, want)
	}
	cut = strings.ReplaceAll(cut, "\\fB\\-\\-json\\fR", "")
	want = []string{"ce-sample new --json", "ce-sample send --detach", "ce-sample queue ls --json"}
	if got := MissingFlags([]byte(cut), k); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMissingFlagsHandWritten(t *testing.T) {
	k := sampleModel(t)
	// Every flag but --state-dir, spelt the ways go-md2man and people do.
	page := `.TH CE-SAMPLE 1
\fB\-\-config\fP \fB--verbose\fR \-\-user --json
\(hy\(hystream \[hy]\[hy]detach \fB\-\-time\fPout \-\%\-format
--color --model --force
.B \-\-state\-directory
`
	want := []string{"ce-sample --state-dir"}
	if got := MissingFlags([]byte(page), k); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

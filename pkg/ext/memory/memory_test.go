package memory

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/memory/memdir"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

// The metadata is registered without handlers: this package links no
// SQLite, and the queue worker imports only it.
func TestMetadataWithoutHandlers(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolSave, ToolSearch, ToolRead, ToolList, ToolDelete)
	if e.PromptFunc == nil {
		t.Error("no PromptFunc")
	}
	exttest.Destructive(t, e, ToolDelete)
	exttest.ReadOnly(t, e, ToolSearch)
}

func env(t *testing.T, notes int) ext.Env {
	t.Helper()
	st := statetest.New(t)
	cfg := config.Default()
	cfg.Memory.PromptNotes = notes
	return ext.Env{State: st, Config: cfg, Session: "s1"}
}

func writeDigest(t *testing.T, e ext.Env, d memdir.Digest) {
	t.Helper()
	l, _ := memdir.Locate(e.State, e.Config)
	os.MkdirAll(filepath.Dir(l.Digest), 0o700)
	if err := memdir.WriteDigest(l.Digest, d); err != nil {
		t.Fatal(err)
	}
}

func TestTitles(t *testing.T) {
	e := env(t, 3)
	ctx := t.Context()
	e.Session = ""
	if got := Titles(ctx, e); got != "The memory holds no notes yet." {
		t.Errorf("no digest: %q", got)
	}
	var recent []memdir.Entry
	for i := range 5 {
		recent = append(recent, memdir.Entry{ID: "n" + string(rune('a'+i)), Title: "Title " + string(rune('A'+i)), Updated: time.Now()})
	}
	recent[0].Tags = []string{"x", "y"}
	writeDigest(t, e, memdir.Digest{Notes: 5, Recent: recent})
	want := "The memory holds 5 notes; the 3 most recently updated (memory_read ID reads one):\n- na: Title A [x, y]\n- nb: Title B\n- nc: Title C"
	if got := Titles(ctx, e); got != want {
		t.Errorf("titles:\n%s\nwant:\n%s", got, want)
	}
	// A session's list is fixed at its first run.
	e.Session = "s1"
	first := Titles(ctx, e)
	writeDigest(t, e, memdir.Digest{Notes: 1, Recent: recent[4:]})
	if again := Titles(ctx, e); again != first {
		t.Errorf("second run got %q, want the first run's %q", again, first)
	}
	if b, err := os.ReadFile(filepath.Join(e.State.RunsDir("s1"), PromptFile)); err != nil || string(b) != first {
		t.Errorf("frozen file: %q, %v", b, err)
	}
	e.Session = "s2"
	if got := Titles(ctx, e); got != "The memory holds 1 note (memory_read ID reads it):\n- ne: Title E" {
		t.Errorf("new session: %q", got)
	}
	// 0 lists none.
	e0 := env(t, 0)
	if got := Titles(ctx, e0); got != "" {
		t.Errorf("prompt_notes 0: %q", got)
	}
}

func TestTitlesBounded(t *testing.T) {
	e := env(t, 100)
	e.Session = ""
	var recent []memdir.Entry
	for range 100 {
		recent = append(recent, memdir.Entry{ID: "20261124-" + strings.Repeat("x", 40), Title: strings.Repeat("long title ", 30), Tags: []string{"a", "b"}})
	}
	writeDigest(t, e, memdir.Digest{Notes: 100, Recent: recent})
	got := Titles(t.Context(), e)
	if len(got) > promptBytes+200 {
		t.Errorf("fragment is %d bytes", len(got))
	}
	lines := strings.Split(got, "\n")
	if !strings.HasSuffix(lines[1], "…") && !strings.Contains(lines[1], "… [a, b]") {
		t.Errorf("title not cut: %q", lines[1])
	}
	if !strings.Contains(lines[0], "the "+strconv.Itoa(len(lines)-1)+" most recently updated") {
		t.Errorf("head %q for %d lines", lines[0], len(lines)-1)
	}
}

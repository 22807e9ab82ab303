package tools

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	extmemory "github.com/ce-platform/ce/pkg/ext/memory"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

func newEnv(t *testing.T, session string) ext.Env {
	t.Helper()
	return ext.Env{State: statetest.New(t), Config: config.Default(), Session: session}
}

func call(t *testing.T, env ext.Env, tool string, args map[string]any) ext.Result {
	t.Helper()
	return exttest.Call(t.Context(), t, env, extmemory.Name, tool, args)
}

func TestTools(t *testing.T) {
	env := newEnv(t, "lead")
	r := call(t, env, extmemory.ToolSave, map[string]any{"title": "Release checklist", "content": "Tag, build, then publish the release notes.", "tags": []any{"release", "Ops"}})
	m := regexp.MustCompile(`^Saved as note (\d{8}-release-checklist)\.$`).FindStringSubmatch(r.Text)
	if r.IsError || m == nil {
		t.Fatalf("save = %+v", r)
	}
	id := m[1]
	// Tags given as a JSON string, as models sometimes send them.
	if r := call(t, env, extmemory.ToolSave, map[string]any{"title": "Other", "content": "unrelated text about lunch", "tags": `["food"]`}); r.IsError {
		t.Fatalf("save with string tags = %+v", r)
	}
	b, err := os.ReadFile(filepath.Join(env.State.Root, "memory", id+".md"))
	if err != nil || !strings.Contains(string(b), "\nsource: session:lead\n") || !strings.Contains(string(b), "tags: [release, ops]") {
		t.Errorf("file = %s, %v", b, err)
	}

	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": "publish release"})
	if r.IsError || !strings.HasPrefix(r.Text, `1 note matches "publish release":`) ||
		!strings.Contains(r.Text, "- "+id+": Release checklist [release, ops] (updated ") ||
		!strings.Contains(r.Text, "by session:lead)") || !strings.Contains(r.Text, "then **publish** the **release** notes") {
		t.Errorf("search = %+v", r)
	}
	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": "publish dinner"})
	if r.IsError || !strings.HasPrefix(r.Text, `No note has all the words of "publish dinner"; 1 note with some of them`) {
		t.Errorf("partial search = %+v", r)
	}
	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": "zebra"})
	if r.IsError || r.Text != `No note matches "zebra".` {
		t.Errorf("no match = %+v", r)
	}
	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": `"release`})
	if !r.IsError || !strings.Contains(r.Text, "a quote is not closed") || !strings.Contains(r.Text, "Queries are words") {
		t.Errorf("bad query = %+v", r)
	}
	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": "release", "tag": "food"})
	if r.Text != `No note matches "release".` {
		t.Errorf("tag filter = %+v", r)
	}
	r = call(t, env, extmemory.ToolSearch, map[string]any{"query": "e*", "limit": "two"})
	if !r.IsError {
		t.Errorf("bad limit = %+v", r)
	}

	r = call(t, env, extmemory.ToolRead, map[string]any{"id": id})
	if r.IsError || r.Text != string(b) {
		t.Errorf("read = %+v", r)
	}
	r = call(t, env, extmemory.ToolRead, map[string]any{"id": "../../etc/passwd"})
	if !r.IsError || !strings.Contains(r.Text, "bad note ID") {
		t.Errorf("read outside = %+v", r)
	}

	r = call(t, env, extmemory.ToolList, map[string]any{})
	if r.IsError || !strings.HasPrefix(r.Text, "2 notes, most recently updated first:\n") {
		t.Errorf("list = %+v", r)
	}
	r = call(t, env, extmemory.ToolList, map[string]any{"tag": "ops"})
	if r.IsError || !strings.HasPrefix(r.Text, "1 note:\n- "+id) {
		t.Errorf("list ops = %+v", r)
	}

	r = call(t, env, extmemory.ToolDelete, map[string]any{"id": id})
	if r.IsError || r.Text != "Deleted note "+id+"." {
		t.Errorf("delete = %+v", r)
	}
	r = call(t, env, extmemory.ToolDelete, map[string]any{"id": id})
	if !r.IsError || !strings.Contains(r.Text, "no note") {
		t.Errorf("delete again = %+v", r)
	}
	r = call(t, env, extmemory.ToolSave, map[string]any{"title": "big", "content": strings.Repeat("x", 2<<20)})
	if !r.IsError || !strings.Contains(r.Text, "the note was not saved: the note is larger than 1024 KiB") {
		t.Errorf("huge save = %+v", r)
	}
	r = call(t, env, extmemory.ToolSave, map[string]any{"title": "x"})
	if !r.IsError || !strings.Contains(r.Text, `"content" is required`) {
		t.Errorf("no content = %+v", r)
	}
	if r := call(t, ext.Env{}, extmemory.ToolList, nil); !r.IsError {
		t.Errorf("no state = %+v", r)
	}
}

// The digest the tools keep feeds the titles of the next session's prompt.
func TestSaveUpdatesTitles(t *testing.T) {
	env := newEnv(t, "w")
	call(t, env, extmemory.ToolSave, map[string]any{"title": "Runbook for outages", "content": "Page the on-call first."})
	env.Session = "fresh"
	got := extmemory.Titles(t.Context(), env)
	if !regexp.MustCompile(`(?m)^- \d{8}-runbook-for-outages: Runbook for outages$`).MatchString(got) {
		t.Errorf("titles = %q", got)
	}
}

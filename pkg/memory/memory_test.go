package memory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/memory/memdir"
)

func layout(dir string) memdir.Layout {
	return memdir.Layout{
		Notes:  filepath.Join(dir, "memory"),
		Index:  filepath.Join(dir, "memory", ".index", "index.db"),
		Digest: filepath.Join(dir, "memory", ".index", "digest.json"),
		Lock:   filepath.Join(dir, "locks", "memory.lock"),
	}
}

func open(t testing.TB, dir string, rescan time.Duration) *Store {
	t.Helper()
	s, err := OpenWith(Options{Layout: layout(dir), Rescan: rescan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func add(t testing.TB, s *Store, title, body string, tags ...string) Note {
	t.Helper()
	n, err := s.Add(context.Background(), Note{Title: title, Body: body, Tags: tags, Source: "session:test"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func search(t testing.TB, s *Store, q string, o SearchOptions) []Hit {
	t.Helper()
	hits, err := s.Search(context.Background(), q, o)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return hits
}

func ids(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func writeNote(t testing.TB, s *Store, name, content string) string {
	t.Helper()
	p := filepath.Join(s.Dir(), name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddWritesMarkdownWithFrontMatter(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	n := add(t, s, "  Deploy   checklist ", "Run `make deploy` with the staging key.\n", "Ops", "#deploy", "ops")
	if !regexp.MustCompile(`^\d{8}-deploy-checklist$`).MatchString(n.ID) {
		t.Errorf("ID = %q", n.ID)
	}
	b, err := os.ReadFile(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("---\nid: %s\ntitle: Deploy checklist\ntags: [ops, deploy]\ncreated: %s\nupdated: %s\nsource: session:test\n---\n\nRun `make deploy` with the staging key.\n",
		n.ID, n.Created.Format(time.RFC3339), n.Updated.Format(time.RFC3339))
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	fi, _ := os.Stat(n.Path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	got, err := s.Get(context.Background(), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != n.Title || got.Body != n.Body || got.Source != "session:test" || !got.Updated.Equal(n.Updated) || strings.Join(got.Tags, ",") != "ops,deploy" {
		t.Errorf("Get = %+v\nwant %+v", got, n)
	}
	// Same title again: another ID. No title: the first heading.
	n2 := add(t, s, "Deploy checklist", "again")
	if n2.ID != n.ID+"-2" {
		t.Errorf("second ID = %q", n2.ID)
	}
	n3 := add(t, s, "", "\n# Rollback steps\n\nrevert the tag")
	if n3.Title != "Rollback steps" || !strings.HasSuffix(n3.ID, "-rollback-steps") {
		t.Errorf("derived title %q id %q", n3.Title, n3.ID)
	}
	n4 := add(t, s, "Ключ развёртывания", "cyrillic title")
	if !regexp.MustCompile(`^\d{8}-[a-z2-7]{8}$`).MatchString(n4.ID) {
		t.Errorf("ID of a non-ASCII title = %q", n4.ID)
	}
	if got := search(t, s, "развёртывания", SearchOptions{}); len(got) != 1 || got[0].ID != n4.ID {
		t.Errorf("search cyrillic = %v", ids(got))
	}
	list, err := s.List(context.Background(), "")
	if err != nil || len(list) != 4 {
		t.Fatalf("List = %d notes, %v", len(list), err)
	}
	d, err := memdir.ReadDigest(layout(filepath.Dir(s.Dir())).Digest)
	if err != nil || d.Notes != 4 || len(d.Recent) != 4 {
		t.Errorf("digest = %+v, %v", d, err)
	}
}

func TestAddRefusesBadInput(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		n    Note
		want error
	}{
		{"empty", Note{Body: "  \n"}, ErrEmpty},
		{"binary", Note{Title: "x", Body: "a\x00b"}, ErrBinary},
		{"not utf-8", Note{Title: "x", Body: "\xff\xfe"}, ErrBinary},
		{"10 MB", Note{Title: "big", Body: strings.Repeat("0123456789\n", 1<<20)}, ErrTooLarge},
	} {
		_, err := s.Add(ctx, c.n)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := s.Add(ctx, Note{Title: "x", Tags: []string{"a b", "ok", "bad,tag"}}); err == nil || !strings.Contains(err.Error(), `"bad,tag"`) {
		t.Errorf("bad tag: %v", err)
	}
	ents, _ := os.ReadDir(s.Dir())
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".md") || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// Exactly the limit is accepted.
	if _, err := s.Add(ctx, Note{Title: "t", Body: strings.Repeat("x", MaxNoteBytes-1)}); err != nil {
		t.Errorf("a note at the limit: %v", err)
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{
		"20261124-deploy": true, "projects/a": true, "x.md": true,
		"": false, "../x": false, "a/../../x": false, "/etc/passwd": false, ".hidden": false, "a/.git/x": false, "a//b": false, "a\\b": false,
	} {
		if _, err := CheckID(id); (err == nil) != ok {
			t.Errorf("CheckID(%q) = %v", id, err)
		}
	}
	s := open(t, t.TempDir(), 0)
	if _, err := s.Get(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get nope = %v", err)
	}
	if err := s.Remove(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove nope = %v", err)
	}
}

func TestSearchRankingAndSnippets(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	body := add(t, s, "Weekly notes", "We talked about many things. Later the kubernetes cluster was upgraded and nothing broke, which was nice.")
	title := add(t, s, "Kubernetes upgrade", "Steps we followed, in order.")
	tag := add(t, s, "Cluster maintenance", "Drain nodes first.", "kubernetes")
	add(t, s, "Unrelated", "Bread recipe with flour and water.")
	hits := search(t, s, "kubernetes", SearchOptions{})
	if got := strings.Join(ids(hits), " "); got != title.ID+" "+tag.ID+" "+body.ID {
		t.Errorf("ranking = %s\nwant title, tag, body match", got)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Errorf("scores not decreasing: %v", hits)
		}
	}
	if !strings.Contains(hits[2].Snippet, "the **kubernetes** cluster") {
		t.Errorf("snippet = %q", hits[2].Snippet)
	}
	if hits[0].Snippet != "Steps we followed, in order." {
		t.Errorf("snippet of a title match = %q", hits[0].Snippet)
	}
	hits = search(t, s, "upgraded", SearchOptions{Mark: "<b>", Unmark: "</b>"})
	if len(hits) != 2 || !strings.Contains(hits[1].Snippet+hits[0].Snippet, "<b>upgraded</b>") {
		t.Errorf("stemmed search with marks = %+v", hits)
	}
	if got := search(t, s, "kubernetes", SearchOptions{Limit: 1}); len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}
	if got := search(t, s, "nothinghere", SearchOptions{}); len(got) != 0 {
		t.Errorf("no match gave %v", ids(got))
	}
}

func TestPhrasePrefixAndOperators(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	a := add(t, s, "Keys", "The deploy key is in the vault. Rotate it yearly.")
	b := add(t, s, "Other", "Key rotation: deploy with care, the vault is sealed.")
	c := add(t, s, "Deployment", "deployments happen on Tuesdays")
	for q, want := range map[string][]string{
		`"deploy key"`:           {a.ID},
		`deploy key`:             {a.ID, b.ID},
		`deplo*`:                 {a.ID, b.ID, c.ID},
		`"deploy key"*`:          {a.ID},
		`tuesday OR sealed`:      {b.ID, c.ID},
		`vault NOT yearly`:       {b.ID},
		`(yearly OR sealed) key`: {a.ID, b.ID},
		`title:keys`:             {a.ID},
		`title:"keys"`:           {a.ID},
		`VAULT`:                  {a.ID, b.ID},
		`v1.2 OR tuesdays`:       {c.ID},
	} {
		got := ids(search(t, s, q, SearchOptions{}))
		if strings.Join(sorted(got), " ") != strings.Join(sorted(want), " ") {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
}

// A question in plain words matches notes with some of them when none has
// all; the best comes first.
func TestNaturalLanguageQuery(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	a := add(t, s, "Keys", "The deploy key is in the vault. Rotate it yearly.")
	add(t, s, "Other", "Key rotation: deploy with care, the vault is sealed.")
	add(t, s, "Bread", "flour, water, the oven")
	hits := search(t, s, "what's the deploy-key?", SearchOptions{})
	if len(hits) < 2 || hits[0].ID != a.ID || !hits[0].Partial {
		t.Errorf("hits = %+v", hits)
	}
	if hits := search(t, s, "deploy key", SearchOptions{}); len(hits) != 2 || hits[0].Partial {
		t.Errorf("all words: %+v", hits)
	}
	if hits := search(t, s, "deploy zzzz OR qqqq", SearchOptions{}); len(hits) != 0 {
		t.Errorf("an explicit expression is not loosened: %+v", ids(hits))
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestMalformedQueries(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	add(t, s, "x", "y")
	for q, want := range map[string]string{
		``:             "nothing to search for",
		`?!`:           "nothing to search for",
		`"open phrase`: "quote is not closed",
		`AND deploy`:   "AND needs a term before it",
		`deploy OR`:    "OR needs a term after it",
		`a NOT`:        "NOT needs a term after it",
		`NOT a`:        "NOT needs a term before it",
		`(a OR b`:      "( is not closed",
		`a) b`:         ") has no (",
		`a ()`:         "empty parentheses",
		`(a OR) b`:     "OR needs a term after it",
		`*`:            "* must end a word",
		`a AND OR b`:   "OR needs a term before it",
	} {
		_, err := s.Search(context.Background(), q, SearchOptions{})
		var qe *QueryError
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want a QueryError with %q", q, err, want)
		}
	}
}

func TestFTSQuery(t *testing.T) {
	for q, want := range map[string]string{
		`deploy key`:       `"deploy" AND "key"`,
		`"deploy key"`:     `"deploy key"`,
		`deplo*`:           `"deplo"*`,
		`a OR (b c)`:       `"a" OR ( "b" AND "c" )`,
		`tags:ops body:x`:  `tags : "ops" AND body : "x"`,
		`say "hi ""there"`: `"say" AND "hi " AND "there"`,
		`it's -x`:          `"it's" AND "-x"`,
		`foo:bar`:          `"foo:bar"`,
	} {
		got, _, err := ftsQuery(q)
		if err != nil || got != want {
			t.Errorf("ftsQuery(%q) = %q, %v; want %q", q, got, err, want)
		}
	}
}

func TestTagFilter(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	a := add(t, s, "Build cache", "the cache lives in /var/cache", "ci", "build")
	add(t, s, "Cache headers", "set cache-control", "web")
	if got := ids(search(t, s, "cache", SearchOptions{Tag: "CI"})); len(got) != 1 || got[0] != a.ID {
		t.Errorf("search --tag ci = %v", got)
	}
	list, err := s.List(context.Background(), "build")
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("List build = %v, %v", list, err)
	}
	if list, _ := s.List(context.Background(), "none"); len(list) != 0 {
		t.Errorf("List none = %v", list)
	}
}

// Files are the truth: notes added, edited and deleted by hand are picked up
// by the next command.
func TestSyncPicksUpHandChanges(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 0)
	ctx := context.Background()
	kept := add(t, s, "Kept", "stays as it is")
	if got := search(t, s, "kept", SearchOptions{}); len(got) != 1 {
		t.Fatalf("kept = %v", ids(got))
	}
	// Added by hand, without front matter, in a subdirectory.
	writeNote(t, s, "projects/alpha.md", "# Alpha project\n\nThe alpha launch is on Friday.\n")
	hits := search(t, s, "launch", SearchOptions{})
	if len(hits) != 1 || hits[0].ID != "projects/alpha" || hits[0].Title != "Alpha project" {
		t.Fatalf("hand-added note: %+v", hits)
	}
	if n, err := s.Get(ctx, "projects/alpha"); err != nil || !strings.Contains(n.Body, "Friday") {
		t.Errorf("Get projects/alpha = %+v, %v", n, err)
	}
	// Edited by an editor that writes a new file and renames it.
	tmp := writeNote(t, s, ".alpha.swp", "# Alpha project\n\nThe alpha launch moved to Monday.\n")
	if err := os.Rename(tmp, filepath.Join(s.Dir(), "projects", "alpha.md")); err != nil {
		t.Fatal(err)
	}
	if got := search(t, s, "monday", SearchOptions{}); len(got) != 1 {
		t.Errorf("renamed edit not seen: %v", ids(got))
	}
	if got := search(t, s, "friday", SearchOptions{}); len(got) != 0 {
		t.Errorf("old content still found: %v", ids(got))
	}
	// Deleted behind the index's back.
	os.Remove(filepath.Join(s.Dir(), "projects", "alpha.md"))
	if got := search(t, s, "alpha", SearchOptions{}); len(got) != 0 {
		t.Errorf("deleted note still found: %v", ids(got))
	}
	if list, _ := s.List(ctx, ""); len(list) != 1 || list[0].ID != kept.ID {
		t.Errorf("List after delete = %v", list)
	}
}

// A file rewritten in place does not change its directory: it is noticed
// at the first command after Rescan.
func TestSyncInPlaceEdit(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 100*time.Millisecond)
	n := add(t, s, "Plan", "the first plan")
	search(t, s, "plan", SearchOptions{})
	f, err := os.OpenFile(n.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\nAppended: zebra crossing.\n")
	f.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(search(t, s, "zebra", SearchOptions{})) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("an in-place edit was never noticed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// With Rescan < 0 every command scans: seen at once.
	s2 := open(t, dir, -1)
	os.WriteFile(n.Path, []byte("---\ntitle: Plan\n---\nnow about giraffes\n"), 0o600)
	if got := search(t, s2, "giraffes", SearchOptions{}); len(got) != 1 {
		t.Errorf("in-place edit with rescan -1: %v", ids(got))
	}
}

// checkRebuilt checks that s, whose index went through what happened,
// finds word in one note and counts notes.
func checkRebuilt(t *testing.T, s *Store, what, word string, notes int) {
	t.Helper()
	if got := search(t, s, word, SearchOptions{}); len(got) != 1 {
		t.Errorf("%s: %v", what, ids(got))
	}
	if n, err := s.Count(context.Background()); err != nil || n != notes {
		t.Errorf("%s: count = %d, %v", what, n, err)
	}
}

func TestIndexDeletedOrDamaged(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 0)
	for i := range 20 {
		add(t, s, fmt.Sprintf("note %d", i), fmt.Sprintf("body with word%d", i))
	}
	idx := layout(dir).Index
	// Deleted, while this store has it open.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(idx + suffix)
	}
	if got := search(t, s, "word7", SearchOptions{}); len(got) != 1 {
		t.Errorf("after deleting the index: %v", ids(got))
	}
	// Only index.db deleted, its write-ahead log left behind by a
	// process that still has it open.
	other := open(t, dir, 0)
	add(t, other, "late", "body with word20")
	if _, err := os.Stat(idx + "-wal"); err != nil {
		t.Fatalf("no -wal file to leave behind: %v", err)
	}
	os.Remove(idx)
	s2 := open(t, dir, 0)
	checkRebuilt(t, s2, "after deleting index.db alone", "word20", 21)
	other.Close()
	s2.Close()
	for _, e := range mustGlob(t, filepath.Join(s.Dir(), "*-late.md")) {
		os.Remove(e)
	}
	// Damaged: garbage instead of a database.
	s.Close()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(idx + suffix)
	}
	if err := os.WriteFile(idx, []byte(strings.Repeat("garbage!", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, dir, 0)
	checkRebuilt(t, s3, "after damaging the index", "word13", 20)
	r, err := s3.Reindex(context.Background())
	if err != nil || r.Notes != 20 || !r.Full {
		t.Errorf("Reindex = %+v, %v", r, err)
	}
}

func TestBadFiles(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	writeNote(t, s, "badyaml.md", "---\ntitle: [unclosed\ntags: : :\n---\nthe body mentions pelicans\n")
	writeNote(t, s, "unclosed.md", "---\ntitle: never closed\nthe body mentions herons\n")
	writeNote(t, s, "list.md", "---\n- a\n- b\n---\nthe body mentions storks\n")
	writeNote(t, s, "binary.md", "PNG\x00\x01\x02 cormorants")
	writeNote(t, s, "lenient.md", "---\ntitle: 42\ntags: one, Two three\nupdated: 2025-01-02\n---\nthe body mentions ibises\n")
	writeNote(t, s, "crlf.md", "---\r\ntitle: Windows note\r\n---\r\nthe body mentions egrets\r\n")
	big := "# Big\n" + strings.Repeat("filler words here\n", (10<<20)/18) + "needle at the end\n"
	writeNote(t, s, "big.md", "flamingos at the start\n"+big)
	r, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	problems := map[string]string{}
	for _, n := range r.Problems {
		problems[n.ID] = n.Problem
	}
	for id, want := range map[string]string{
		"badyaml":  "front matter is not valid YAML",
		"unclosed": "no closing ---",
		"list":     "front matter is not valid YAML",
		"binary":   "not a text file",
		"big":      "over the 1024 KiB limit",
	} {
		if !strings.Contains(problems[id], want) {
			t.Errorf("%s: problem %q, want %q", id, problems[id], want)
		}
	}
	if _, ok := problems["lenient"]; ok {
		t.Errorf("lenient: %s", problems["lenient"])
	}
	for word, id := range map[string]string{"pelicans": "badyaml", "herons": "unclosed", "storks": "list", "ibises": "lenient", "egrets": "crlf", "flamingos": "big", "binary": "binary"} {
		hits := search(t, s, word, SearchOptions{})
		if len(hits) != 1 || hits[0].ID != id {
			t.Errorf("%s: hits %v, want %s", word, ids(hits), id)
		}
	}
	if hits := search(t, s, "needle", SearchOptions{}); len(hits) != 0 {
		t.Errorf("text past the limit was indexed: %v", ids(hits))
	}
	n, err := s.Get(context.Background(), "lenient")
	if err != nil || n.Title != "42" || strings.Join(n.Tags, ",") != "one,two,three" || n.Updated.Format("2006-01-02") != "2025-01-02" {
		t.Errorf("lenient = %+v, %v", n, err)
	}
	if n, _ := s.Get(context.Background(), "crlf"); n.Title != "Windows note" {
		t.Errorf("crlf title = %q", n.Title)
	}
}

func TestEditedKeepsFrontMatter(t *testing.T) {
	s := open(t, t.TempDir(), time.Hour)
	n := add(t, s, "Editable", "before", "x")
	before, _ := os.ReadFile(n.Path)
	edited := strings.Replace(string(before), "before", "after the edit", 1)
	edited = strings.Replace(edited, "tags: [x]", "# a comment\ntags: [x, y]\nextra: kept", 1)
	os.WriteFile(n.Path, []byte(edited), 0o600)
	s.opts.Now = func() time.Time { return n.Updated.Add(time.Hour) }
	got, err := s.Edited(context.Background(), n.ID, before)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Updated.Equal(n.Updated.Add(time.Hour)) || !got.Created.Equal(n.Created) || strings.Join(got.Tags, ",") != "x,y" {
		t.Errorf("after edit: %+v", got)
	}
	b, _ := os.ReadFile(n.Path)
	for _, want := range []string{"# a comment", "extra: kept", "after the edit", "updated: " + n.Updated.Add(time.Hour).Format(time.RFC3339)} {
		if !strings.Contains(string(b), want) {
			t.Errorf("file lacks %q:\n%s", want, b)
		}
	}
	// Rescan is an hour, and the edit was in place: Edited indexed it.
	if hits := search(t, s, "edit", SearchOptions{}); len(hits) != 1 {
		t.Errorf("edited note not indexed: %v", ids(hits))
	}
	// Unchanged: the file is left alone.
	same, _ := os.ReadFile(n.Path)
	if _, err := s.Edited(context.Background(), n.ID, same); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(n.Path); string(again) != string(same) {
		t.Error("an unchanged note was rewritten")
	}
}

func TestRemove(t *testing.T) {
	s := open(t, t.TempDir(), 0)
	n := add(t, s, "Gone soon", "ephemeral")
	if err := s.Remove(context.Background(), n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.Path); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if hits := search(t, s, "ephemeral", SearchOptions{}); len(hits) != 0 {
		t.Errorf("removed note found: %v", ids(hits))
	}
	if err := s.Remove(context.Background(), n.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove = %v", err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A state directory with odd characters in its path works.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	s := open(t, dir, 0)
	add(t, s, "Odd", "a path with ? and # in it")
	if got := search(t, s, "path", SearchOptions{}); len(got) != 1 {
		t.Errorf("hits %v", ids(got))
	}
	if _, err := os.Stat(layout(dir).Index); err != nil {
		t.Errorf("index not where it should be: %v", err)
	}
}

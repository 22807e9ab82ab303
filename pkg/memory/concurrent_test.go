package memory

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The test binary doubles as a writer process for TestConcurrentWriters.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CE_MEMORY_WRITER_DIR"); dir != "" {
		os.Exit(writer(dir, os.Getenv("CE_MEMORY_WRITER_NAME"), os.Getenv("CE_MEMORY_WRITER_NOTES")))
	}
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// writer adds notes as one process would (a session's memory_save), with
// a search and a hand-added file between them.
func writer(dir, name, count string) int {
	n, _ := strconv.Atoi(count)
	s, err := OpenWith(Options{Layout: layout(dir), Rescan: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	ctx := context.Background()
	for i := range n {
		// Every writer uses the same titles: IDs collide on purpose.
		if _, err := s.Add(ctx, Note{Title: fmt.Sprintf("shared title %d", i), Body: fmt.Sprintf("written by %s, number %d, token%s%d", name, i, name, i), Source: "session:" + name}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if i%5 == 0 {
			if _, err := s.Search(ctx, "shared", SearchOptions{Limit: 3}); err != nil {
				fmt.Fprintln(os.Stderr, "search:", err)
				return 1
			}
			p := fmt.Sprintf("%s/hand-%s-%d.md", s.Dir(), name, i)
			if err := os.WriteFile(p, []byte("by hand, token"+name+"hand"+strconv.Itoa(i)), 0o600); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

// Many processes saving at once lose no note and leave the index whole.
func TestConcurrentWriters(t *testing.T) {
	const procs, each = 6, 30
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	outs := make([][]byte, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "CE_MEMORY_WRITER_DIR="+dir, "CE_MEMORY_WRITER_NAME=w"+strconv.Itoa(p), "CE_MEMORY_WRITER_NOTES="+strconv.Itoa(each))
			outs[p], errs[p] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for p := range procs {
		if errs[p] != nil {
			t.Fatalf("writer %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	ents, err := os.ReadDir(layout(dir).Notes)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range ents {
		switch {
		case strings.HasSuffix(e.Name(), ".md"):
			files++
		case strings.HasPrefix(e.Name(), ".") && e.Name() != ".index":
			t.Errorf("left behind: %s", e.Name())
		}
	}
	hand := procs * ((each + 4) / 5)
	if want := procs*each + hand; files != want {
		t.Errorf("%d note files, want %d", files, want)
	}
	s := open(t, dir, -1)
	ctx := context.Background()
	if n, err := s.Count(ctx); err != nil || n != files {
		t.Errorf("index holds %d notes (%v), want %d", n, err, files)
	}
	for p := range procs {
		for i := range each {
			tok := fmt.Sprintf("tokenw%d%d", p, i)
			if hits := search(t, s, tok, SearchOptions{}); len(hits) != 1 {
				t.Errorf("%s: %d hits", tok, len(hits))
			}
		}
	}
	db, err := sql.Open("sqlite", "file:"+layout(dir).Index)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check = %q, %v", ok, err)
	}
	if _, err := db.Exec(`INSERT INTO fts(fts, rank) VALUES('integrity-check', 1)`); err != nil {
		t.Errorf("fts integrity-check: %v", err)
	}
}

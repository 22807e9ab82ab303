package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/buntdb"
)

func TestCorruptFileIsMovedAsideAndReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	if err := os.WriteFile(path, []byte("*3\r\n$3\r\nset\r\ngarbage in the middle\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(path, filepath.Join(dir, "x.lock"))
	var moved string
	s.OnCorrupt = func(p, to string, err error) { moved = to }
	err := s.Update(context.Background(), func(tx *buntdb.Tx) error {
		_, _, err := tx.Set("a", "b", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if moved == "" || !strings.Contains(moved, ".corrupt-") {
		t.Fatalf("corrupt file not reported: %q", moved)
	}
	if b, err := os.ReadFile(moved); err != nil || !strings.Contains(string(b), "garbage") {
		t.Fatalf("the corrupt file was not kept: %v", err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("new store mode %o", fi.Mode().Perm())
	}
	var v string
	s.View(context.Background(), func(tx *buntdb.Tx) error { v, _ = tx.Get("a"); return nil })
	if v != "b" {
		t.Fatalf("write after recovery lost: %q", v)
	}
}

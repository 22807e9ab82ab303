package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// A store that grew past compactSize with overwritten records is rewritten
// with its live records only; nothing live is lost, expiries included.
func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	s := New(filepath.Join(dir, "c.db"), filepath.Join(dir, "c.lock"))
	ctx := context.Background()
	val := strings.Repeat("v", 512)
	for i := 0; i < 400; i++ {
		if err := s.Update(ctx, func(tx *buntdb.Tx) error {
			_, _, err := tx.Set(fmt.Sprintf("k%d", i%10), fmt.Sprintf("%d:%s", i, val), nil)
			if err != nil {
				return err
			}
			_, _, err = tx.Set("ttl", "x", &buntdb.SetOptions{Expires: true, TTL: time.Hour})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 2*compactSize {
		t.Errorf("the store is %d bytes after rewrites of 10 live records", fi.Size())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o after compaction", fi.Mode().Perm())
	}
	s.View(ctx, func(tx *buntdb.Tx) error {
		for i := 390; i < 400; i++ {
			v, err := tx.Get(fmt.Sprintf("k%d", i%10))
			if err != nil || !strings.HasPrefix(v, fmt.Sprintf("%d:", i)) {
				t.Errorf("k%d = %.10q, %v", i%10, v, err)
			}
		}
		if ttl, err := tx.TTL("ttl"); err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("the expiry did not survive: %v %v", ttl, err)
		}
		return nil
	})
}

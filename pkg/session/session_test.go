package session

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/statedir"
)

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "A-b_9", strings.Repeat("x", 64)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a b", "a.b", "é", strings.Repeat("x", 65), "../x"} {
		if ValidName(bad) == nil {
			t.Errorf("ValidName(%q) accepted", bad)
		}
	}
}

func TestSlotsAreLowestFreePerUser(t *testing.T) {
	ctx := context.Background()
	d, _ := statedir.Open(t.TempDir())
	s := Open(d)
	mk := func(name, user string) (Record, error) {
		return s.Create(ctx, Record{Name: name, User: user}, 3)
	}
	for i, n := range []string{"a", "b", "c"} {
		r, err := mk(n, "u")
		if err != nil || r.Slot != i+1 {
			t.Fatalf("create %s: slot %d, %v", n, r.Slot, err)
		}
	}
	var se *SlotError
	if _, err := mk("d", "u"); !errors.As(err, &se) {
		t.Fatalf("fourth session of u: %v", err)
	}
	if r, err := mk("e", "other"); err != nil || r.Slot != 1 {
		t.Fatalf("other user: %+v %v", r, err)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if r, err := mk("f", "u"); err != nil || r.Slot != 2 {
		t.Fatalf("reused slot: %+v %v", r, err)
	}
	var ee *ExistsError
	if _, err := mk("a", "x"); !errors.As(err, &ee) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := s.Rename(ctx, "a", "c"); !errors.As(err, &ee) {
		t.Fatalf("rename onto an existing name: %v", err)
	}
	r, err := s.Rename(ctx, "a", "z")
	if err != nil || r.Name != "z" || r.Slot != 1 {
		t.Fatalf("rename: %+v %v", r, err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still there: %v", err)
	}
}

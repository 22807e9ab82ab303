package cecmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	long := strings.Repeat("x", 70<<10)
	for _, tc := range []struct {
		content string
		n       int
		want    string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 3, "a\nb\nc\n"},
		{"a\nb\nc\n", 9, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"},
		{"a\nb\nc\n", 0, "a\nb\nc\n"},
		{"", 5, ""},
		{"first\n" + long + "\nlast\n", 2, long + "\nlast\n"},
	} {
		p := filepath.Join(t.TempDir(), "log")
		os.WriteFile(p, []byte(tc.content), 0o600)
		f, _ := os.Open(p)
		var out bytes.Buffer
		if err := tail(f, &out, tc.n); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if out.String() != tc.want {
			t.Errorf("tail(%.20q, %d) = %.20q, want %.20q", tc.content, tc.n, out.String(), tc.want)
		}
	}
}

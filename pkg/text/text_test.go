package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"héllo wörld", 4, "hél…"},
		{"日本語のテキスト", 3, "日本…"},
		{"🙂🙂🙂🙂", 2, "🙂…"},
		{"anything", 0, "anything"},
	} {
		got := Truncate(c.in, c.n)
		if got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) is not valid UTF-8", c.in, c.n)
		}
		if c.n > 0 && utf8.RuneCountInString(got) > c.n {
			t.Errorf("Truncate(%q, %d) has %d runes", c.in, c.n, utf8.RuneCountInString(got))
		}
	}
}

func TestBytesNeverSplitsACharacter(t *testing.T) {
	s := strings.Repeat("é日🙂", 50)
	for n := 0; n <= len(s)+1; n++ {
		got := Bytes(s, n)
		if len(got) > n && n < len(s) {
			t.Fatalf("Bytes(_, %d) is %d bytes", n, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Bytes(_, %d) = %q is not valid UTF-8", n, got)
		}
	}
	if Bytes("short", 100) != "short" {
		t.Fatal("short text changed")
	}
}

func TestLine(t *testing.T) {
	if got := Line("  a\n\tb  \x07c\r\n", 0); got != "a b c" {
		t.Errorf("Line = %q", got)
	}
	if got := Line("one two three", 7); got != "one tw…" {
		t.Errorf("Line truncated = %q", got)
	}
	if got := FirstLine("\n\n  title here \nrest", 0); got != "title here" {
		t.Errorf("FirstLine = %q", got)
	}
}

func TestSafeEscapesTerminalControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\nwith\ttabs":   "plain text\nwith\ttabs",
		"\x1b[2Jcleared":           `\x1b[2Jcleared`,
		"\x1b]0;title\x07rest":     `\x1b]0;title\x07rest`,
		"del\x7f c1\u009b":         `del\x7f c1\x9b`,
		"bad \xff byte":            `bad \xff byte`,
		"sep\u2028x":               `sep\u2028x`,
		"unicode ok: é 日 🙂 \ufffd": "unicode ok: é 日 🙂 \ufffd",
	} {
		if got := Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafe(f *testing.F) {
	f.Add("\x1b[31mred\x1b[0m")
	f.Add("ok")
	f.Fuzz(func(t *testing.T, s string) {
		out := Safe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Safe(%q) is not valid UTF-8", s)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("Safe(%q) = %q keeps %U", s, out, r)
			}
		}
	})
}

// Package text is ce's small set of string helpers for what people read:
// shortening to a number of characters or bytes without cutting a UTF-8
// character in two, folding text onto one line, and making text that a
// model or another program wrote safe to print on a terminal. It is an
// implementation detail of ce.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ellipsis marks where text was cut.
const Ellipsis = "…"

// Truncate returns s cut to at most n characters (runes), the last of them
// an ellipsis when anything was cut. n <= 0 means no limit.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return strings.TrimRightFunc(s[:i], unicode.IsSpace) + Ellipsis
}

// Bytes returns s cut to at most n bytes on a character boundary, with an
// ellipsis (counted in the n bytes) when anything was cut: for limits on
// what is stored or sent.
func Bytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < len(Ellipsis) {
		return ""
	}
	cut := n - len(Ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Ellipsis
}

// Line folds runs of white space (newlines included) into one space, drops
// other control characters and invalid bytes, and truncates the result to
// n characters (no limit when n <= 0).
func Line(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == utf8.RuneError:
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return Truncate(b.String(), n)
}

// FirstLine returns the first non-empty line of s, folded and truncated as
// Line does.
func FirstLine(s string, n int) string {
	for _, l := range strings.Split(s, "\n") {
		if l = Line(l, n); l != "" {
			return l
		}
	}
	return ""
}

// Safe makes text from outside ce (a model's answer, a prompt, a note's
// title) harmless on a terminal: control characters other than newline and
// tab are shown escaped (ESC as \x1b), so they cannot move the cursor,
// clear the screen or retitle the window; invalid UTF-8 bytes are escaped
// too. Printable text, newlines and tabs pass unchanged.
func Safe(s string) string {
	clean := true
	for i, r := range s {
		if unsafeRune(r) || (r == utf8.RuneError && invalidAt(s, i)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			writeHex(&b, s[i])
		case unsafeRune(r) && r < 0x100:
			writeHex(&b, byte(r))
		case unsafeRune(r):
			writeU(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func invalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size <= 1
}

// unsafeRune reports control characters a terminal acts on (C0 but newline
// and tab, DEL, C1) and the Unicode line and paragraph separators.
func unsafeRune(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || r == 0x2028 || r == 0x2029
}

const hexDigits = "0123456789abcdef"

func writeHex(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

func writeU(b *strings.Builder, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>shift)&15])
	}
}

// IsName reports whether s is a name of ASCII letters and digits and the
// characters of extra, with at least min and at most max characters (max
// 0: no limit): the names of sessions, jobs, templates and extensions. A
// loop, not a regular expression: every command checks names, and a
// compiled expression costs each command's start.
func IsName(s, extra string, min, max int) bool {
	if len(s) < min || (max > 0 && len(s) > max) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// IsLowerName is IsName for lower-case names that start with a letter or
// digit: extensions and pieces.
func IsLowerName(s string) bool {
	return IsName(s, "_-", 1, 0) && strings.ToLower(s) == s && s[0] != '_' && s[0] != '-'
}

package tgmarkup

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// linkSchemes are the URL schemes rendered as links; others keep only the
// link text.
var linkSchemes = []string{"http", "https", "tg", "mailto"}

func renderInline(s string) string { return renderSpan(s, nil) }

// renderInlineWithin renders s inside tags already open, which it then does
// not open again.
func renderInlineWithin(s string, tags ...string) string { return renderSpan(s, tags) }

// span renders one run of inline Markdown. It remembers delimiters that
// found no closer, so text full of stray asterisks stays linear.
type span struct {
	s        string
	active   []string
	noCloser map[string]bool
	b        strings.Builder
}

func renderSpan(s string, active []string) string {
	p := &span{s: s, active: active, noCloser: map[string]bool{}}
	p.render()
	return p.b.String()
}

func (p *span) has(tag string) bool { return slices.Contains(p.active, tag) }

// wrap renders inner Markdown inside tag, unless tag is already open.
func (p *span) wrap(tag, inner string) string {
	if p.has(tag) {
		return renderSpan(inner, p.active)
	}
	active := append(slices.Clip(p.active), tag)
	return "<" + tag + ">" + renderSpan(inner, active) + "</" + tag + ">"
}

func (p *span) render() {
	s := p.s
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && isASCIIPunct(s[i+1]) {
				p.b.WriteString(Escape(s[i+1 : i+2]))
				i += 2
				continue
			}
		case '`':
			n := runLen(s, i, '`')
			if end := p.codeClose(i+n, n); end >= 0 {
				code := strings.ReplaceAll(s[i+n:end], "\n", " ")
				if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.Trim(code, " ") != "" {
					code = code[1 : len(code)-1]
				}
				if p.has("a") || p.has("code") {
					p.b.WriteString(Escape(code))
				} else {
					p.b.WriteString("<code>" + Escape(code) + "</code>")
				}
				i = end + n
				continue
			}
			p.b.WriteString(s[i : i+n])
			i += n
			continue
		case '*', '_', '~':
			n := runLen(s, i, c)
			if out, used := p.emphasis(i, c, n); used > 0 {
				p.b.WriteString(out)
				i += used
				continue
			}
			p.b.WriteString(s[i : i+n])
			i += n
			continue
		case '!':
			if i+1 < len(s) && s[i+1] == '[' {
				if out, used := p.link(i+1, true); used > 0 {
					p.b.WriteString(out)
					i += 1 + used
					continue
				}
			}
		case '[':
			if out, used := p.link(i, false); used > 0 {
				p.b.WriteString(out)
				i += used
				continue
			}
		case '<':
			if out, used := p.autolink(i); used > 0 {
				p.b.WriteString(out)
				i += used
				continue
			}
			p.b.WriteString("&lt;")
			i++
			continue
		case '>':
			p.b.WriteString("&gt;")
			i++
			continue
		case '&':
			p.b.WriteString("&amp;")
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		p.b.WriteString(s[i : i+size])
		i += size
	}
}

// codeClose finds the backtick run of exactly n closing a code span opened
// before from.
func (p *span) codeClose(from, n int) int {
	key := "`" + strconv.Itoa(n)
	if p.noCloser[key] {
		return -1
	}
	s := p.s
	for j := from; j < len(s); {
		if s[j] != '`' {
			j++
			continue
		}
		m := runLen(s, j, '`')
		if m == n {
			return j
		}
		j += m
	}
	p.noCloser[key] = true
	return -1
}

// emphasis renders *italic*, **bold**, ***both***, _ and __ alike, and
// ~~strike~~ starting at i, returning the bytes it used (0 if none).
func (p *span) emphasis(i int, c byte, n int) (string, int) {
	s := p.s
	if c == '~' && n != 2 || n > 3 {
		return "", 0
	}
	after, _ := utf8.DecodeRuneInString(s[i+n:])
	if i+n >= len(s) || unicode.IsSpace(after) {
		return "", 0
	}
	if c == '_' && i > 0 {
		if before, _ := utf8.DecodeLastRuneInString(s[:i]); isWordRune(before) {
			return "", 0
		}
	}
	end := p.emphasisClose(i+n, c, n)
	if end < 0 {
		return "", 0
	}
	inner := s[i+n : end]
	var out string
	switch {
	case c == '~':
		out = p.wrap("s", inner)
	case n == 3:
		out = p.wrapBoth(inner)
	case n == 2:
		out = p.wrap("b", inner)
	default:
		out = p.wrap("i", inner)
	}
	return out, end + n - i
}

// wrapBoth renders ***inner*** as bold italic.
func (p *span) wrapBoth(inner string) string {
	if p.has("b") {
		return p.wrap("i", inner)
	}
	withB := &span{active: append(slices.Clip(p.active), "b")}
	return "<b>" + withB.wrap("i", inner) + "</b>"
}

// emphasisClose finds a closing run of exactly n c's after from: not
// preceded by white space and, for _, not followed by a letter or digit.
// Code spans are skipped.
func (p *span) emphasisClose(from int, c byte, n int) int {
	key := string(c) + strconv.Itoa(n)
	if p.noCloser[key] {
		return -1
	}
	s := p.s
	for j := from; j < len(s); {
		switch s[j] {
		case '\\':
			j += 2
			continue
		case '`':
			m := runLen(s, j, '`')
			if end := p.codeClose(j+m, m); end >= 0 {
				j = end + m
			} else {
				j += m
			}
			continue
		case c:
			m := runLen(s, j, c)
			before, _ := utf8.DecodeLastRuneInString(s[:j])
			ok := m == n && j > from && !unicode.IsSpace(before)
			if ok && c == '_' && j+m < len(s) {
				after, _ := utf8.DecodeRuneInString(s[j+m:])
				ok = !isWordRune(after)
			}
			if !ok && m > n && m-n <= 2 && j > from && !unicode.IsSpace(before) && hasOpener(s[from:j], c, m-n) {
				// "**bold *italic***": the run closes an inner span too.
				return j + m - n
			}
			if ok {
				return j
			}
			j += m
			continue
		}
		j++
	}
	p.noCloser[key] = true
	return -1
}

// hasOpener reports whether s has a run of exactly n c's that could open
// a span: followed by something other than white space.
func hasOpener(s string, c byte, n int) bool {
	for j := 0; j < len(s); {
		if s[j] != c {
			j++
			continue
		}
		m := runLen(s, j, c)
		if m == n && j+m < len(s) && !isSpaceByte(s[j+m]) {
			return true
		}
		j += m
	}
	return false
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// link renders [text](url) or, for an image, ![alt](url) starting at the
// "[" at i, returning the bytes it used from i (0 if it is not a link).
func (p *span) link(i int, image bool) (string, int) {
	s := p.s
	if p.noCloser["]"] || strings.IndexByte(s[i:], ']') < 0 {
		p.noCloser["]"] = true
		return "", 0
	}
	close := matchBracket(s, i)
	if close < 0 || close+1 >= len(s) || s[close+1] != '(' {
		return "", 0
	}
	dest, end := linkDestination(s, close+2)
	if end < 0 {
		return "", 0
	}
	text := s[i+1 : close]
	if image && strings.TrimSpace(text) == "" {
		text = "image"
	}
	if strings.TrimSpace(text) == "" {
		text = dest
	}
	if p.has("a") || !linkable(dest) {
		return renderSpan(text, p.active), end - i
	}
	active := append(slices.Clip(p.active), "a")
	return `<a href="` + escapeAttr(dest) + `">` + renderSpan(text, active) + "</a>", end - i
}

// autolink renders <https://...> and <name@host> starting at i.
func (p *span) autolink(i int) (string, int) {
	s := p.s
	end := strings.IndexAny(s[i+1:], "<> \n\t")
	if end < 0 || s[i+1+end] != '>' {
		return "", 0
	}
	target := s[i+1 : i+1+end]
	link := target
	if !strings.Contains(target, ":") && strings.Contains(target, "@") && !strings.HasPrefix(target, "@") {
		link = "mailto:" + target
	}
	if !linkable(link) || p.has("a") {
		return "", 0
	}
	return `<a href="` + escapeAttr(link) + `">` + Escape(target) + "</a>", end + 2
}

// matchBracket returns the index of the "]" closing the "[" at i, skipping
// escapes, code spans and nested brackets.
func matchBracket(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '`':
			m := runLen(s, j, '`')
			k := strings.Index(s[j+m:], s[j:j+m])
			if k < 0 {
				j += m - 1
			} else {
				j += m + k + m - 1
			}
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j
			}
		case '\n':
			if j+1 < len(s) && s[j+1] == '\n' {
				return -1
			}
		}
	}
	return -1
}

// linkDestination reads "url" or "<url>" and an optional title up to the
// closing parenthesis from i, returning the url and the index after ")".
func linkDestination(s string, i int) (string, int) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	var dest string
	if i < len(s) && s[i] == '<' {
		end := strings.IndexAny(s[i+1:], ">\n")
		if end < 0 || s[i+1+end] != '>' {
			return "", -1
		}
		dest = s[i+1 : i+1+end]
		i += end + 2
	} else {
		start, depth := i, 0
		for i < len(s) && s[i] > ' ' {
			if s[i] == '\\' && i+1 < len(s) {
				i += 2
				continue
			}
			if s[i] == '(' {
				depth++
			} else if s[i] == ')' {
				if depth == 0 {
					break
				}
				depth--
			}
			i++
		}
		dest = s[start:i]
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '(') {
		closer := s[i]
		if closer == '(' {
			closer = ')'
		}
		end := strings.IndexByte(s[i+1:], closer)
		if end < 0 {
			return "", -1
		}
		i += end + 2
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
	}
	if i >= len(s) || s[i] != ')' {
		return "", -1
	}
	return unescapeBackslashes(dest), i + 1
}

func unescapeBackslashes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// linkable reports whether a link target may become an <a href>.
func linkable(dest string) bool {
	u, err := url.Parse(dest)
	if err != nil || dest == "" || strings.ContainsAny(dest, " \n\t") {
		return false
	}
	return slices.Contains(linkSchemes, strings.ToLower(u.Scheme)) && (u.Host != "" || u.Opaque != "" || u.Path != "")
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Escape escapes text for Telegram HTML: &, < and >.
func Escape(text string) string {
	if !strings.ContainsAny(text, "&<>") {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func escapeAttr(v string) string { return strings.ReplaceAll(Escape(v), `"`, "&quot;") }

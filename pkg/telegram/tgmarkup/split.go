package tgmarkup

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultLimit is Telegram's limit on a message's text: 4096 UTF-16 code
// units after entity parsing. Captions have 1024.
const DefaultLimit = 4096

// allowedTags are the tags of Telegram's HTML parse mode.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true,
	"a": true, "code": true, "pre": true, "blockquote": true,
}

type tokenKind uint8

const (
	charToken tokenKind = iota
	openToken
	closeToken
)

// token is a visible character (with its canonical escaped form) or a tag.
type token struct {
	kind  tokenKind
	raw   string // a character escaped, an opening tag as written, a closing tag
	r     rune
	units int    // UTF-16 code units of a character
	name  string // a tag's name
	pre   bool   // a character inside <pre>
}

// tokenize parses Telegram HTML with the rules of the Bot API's parser
// (tdlib): the same tags, attributes, entity decoding and errors.
func tokenize(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("strings must be encoded in UTF-8")
	}
	var (
		toks  []token
		stack []string
		pre   int
	)
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	addChar := func(r rune) {
		toks = append(toks, token{kind: charToken, raw: Escape(string(r)), r: r, units: utf16.RuneLen(r), pre: pre > 0})
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == '&' {
			if r, n := decodeEntity(s[i:]); n > 0 {
				addChar(r)
				i += n
				continue
			}
		}
		if c != '<' {
			r, n := utf8.DecodeRuneInString(s[i:])
			addChar(r)
			i += n
			continue
		}
		begin := i
		i++
		if at(i) != '/' {
			for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return nil, fmt.Errorf("unclosed start tag at byte offset %d", begin)
			}
			name := strings.ToLower(s[begin+1 : i])
			if !allowedTags[name] {
				return nil, fmt.Errorf("unsupported start tag %q at byte offset %d", name, begin)
			}
			class := ""
			for at(i) != '>' {
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				attrBegin := i
				for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				attr := s[attrBegin:i]
				if attr == "" {
					return nil, fmt.Errorf("empty attribute name in the tag %q at byte offset %d", name, begin)
				}
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if name == "blockquote" && attr == "expandable" && at(i) != 0 {
						continue
					}
					return nil, fmt.Errorf("expected equal sign in declaration of an attribute of the tag %q at byte offset %d", name, begin)
				}
				i++
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return nil, fmt.Errorf("unclosed start tag %q at byte offset %d", name, begin)
				}
				var value string
				if q := at(i); q != '\'' && q != '"' {
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = strings.ToLower(s[tokenBegin:i])
					if !isHTMLSpace(at(i)) && at(i) != '>' {
						return nil, fmt.Errorf("unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					i++
					var v strings.Builder
					for at(i) != q && at(i) != 0 {
						if r, n := decodeEntity(s[i:]); n > 0 {
							v.WriteRune(r)
							i += n
							continue
						}
						v.WriteByte(at(i))
						i++
					}
					if at(i) == q {
						i++
					}
					value = v.String()
				}
				if at(i) == 0 {
					return nil, fmt.Errorf("unclosed start tag at byte offset %d", begin)
				}
				if name == "span" && attr == "class" {
					class = value
				}
			}
			if name == "span" && class != "tg-spoiler" {
				return nil, fmt.Errorf("tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			i++
			toks = append(toks, token{kind: openToken, raw: s[begin:i], name: name})
			stack = append(stack, name)
			if name == "pre" {
				pre++
			}
			continue
		}
		if len(stack) == 0 {
			return nil, fmt.Errorf("unexpected end tag at byte offset %d", begin)
		}
		i++
		nameBegin := i
		for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '>' {
			i++
		}
		end := s[nameBegin:i]
		for at(i) != 0 && isHTMLSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return nil, fmt.Errorf("unclosed end tag at byte offset %d", begin)
		}
		i++
		top := stack[len(stack)-1]
		if end != "" && end != top {
			return nil, fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top, end)
		}
		stack = stack[:len(stack)-1]
		if top == "pre" {
			pre--
		}
		toks = append(toks, token{kind: closeToken, raw: "</" + top + ">", name: top})
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("can't find end tag corresponding to start tag %q", stack[len(stack)-1])
	}
	return toks, nil
}

// decodeEntity decodes a character reference as Telegram does: numeric
// ones and &lt; &gt; &amp; &quot;, the semicolon optional. It returns the
// bytes used, 0 when s does not start with one (the & is then literal).
func decodeEntity(s string) (rune, int) {
	if len(s) < 2 || s[0] != '&' {
		return 0, 0
	}
	end := 1
	var r rune
	if s[1] == '#' {
		end++
		if end < len(s) && s[end] == 'x' {
			end++
			for end < len(s) && isHex(s[end]) {
				r = r*16 + hexVal(s[end])
				end++
				if r >= 0x10FFFF {
					return 0, 0
				}
			}
		} else {
			for end < len(s) && s[end] >= '0' && s[end] <= '9' {
				r = r*10 + rune(s[end]-'0')
				end++
				if r >= 0x10FFFF {
					return 0, 0
				}
			}
		}
		if r == 0 || end >= 10 || (r >= 0xD800 && r <= 0xDFFF) {
			return 0, 0
		}
	} else {
		for end < len(s) && isAlpha(s[end]) {
			end++
		}
		switch s[1:end] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			return 0, 0
		}
	}
	if end < len(s) && s[end] == ';' {
		end++
	}
	return r, end
}

// Validate reports whether html parses in Telegram's HTML mode, with the
// reason Telegram would give (in lower case) when it does not.
func Validate(html string) error {
	_, err := tokenize(html)
	return err
}

// Len is the length Telegram counts for html: its visible text in UTF-16
// code units.
func Len(html string) (int, error) {
	toks, err := tokenize(html)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range toks {
		n += t.units
	}
	return n, nil
}

// PlainText is the visible text of html, tags removed and entities
// decoded: what to send without a parse mode when Telegram rejects the
// HTML. It has the same length as html's visible text, so a chunk from
// Split stays within the limit. Malformed HTML is stripped of anything
// that looks like a tag.
func PlainText(html string) string {
	toks, err := tokenize(html)
	if err != nil {
		return lenientText(html)
	}
	var b strings.Builder
	for _, t := range toks {
		if t.kind == charToken {
			b.WriteRune(t.r)
		}
	}
	return b.String()
}

func lenientText(html string) string {
	html = strings.ToValidUTF8(html, "\uFFFD")
	var b strings.Builder
	for i := 0; i < len(html); {
		switch html[i] {
		case '<':
			if end := strings.IndexByte(html[i:], '>'); end > 1 && (isAlpha(html[i+1]) || html[i+1] == '/') &&
				!strings.ContainsAny(html[i+1:i+end], "<\n") {
				i += end + 1
				continue
			}
		case '&':
			if r, n := decodeEntity(html[i:]); n > 0 {
				b.WriteRune(r)
				i += n
				continue
			}
		}
		b.WriteByte(html[i])
		i++
	}
	return b.String()
}

// Split cuts html into chunks whose visible text is at most limit UTF-16
// code units (DefaultLimit when limit <= 0), for one message each. It cuts
// at the last paragraph break that fits, else the last line break outside
// code, else the last line break inside a code block, else the last space,
// else before the character that does not fit; never inside a character,
// a surrogate pair, an entity or a tag. Tags open at a cut are closed at
// the end of the chunk and reopened, attributes and all, at the start of
// the next, so each chunk parses on its own. Text is re-escaped
// canonically (&amp; &lt; &gt;).
//
// Concatenated, the chunks' visible text is html's, except for white
// space that would have made a chunk of its own: a run of white space at
// the end, or one too long to share a chunk with visible text, is dropped
// (Telegram trims it anyway). Empty or blank html gives no chunks. An
// error means html does not parse as Telegram HTML.
func Split(html string, limit int) ([]string, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = max(limit, 2)
	toks, err := tokenize(html)
	if err != nil {
		return nil, err
	}
	var chars []int // token index of each character
	for i, t := range toks {
		if t.kind == charToken {
			chars = append(chars, i)
		}
	}
	ch := func(k int) token { return toks[chars[k]] }
	n := len(chars)

	var spans []charRange
	for k := 0; k < n; {
		w, units := k, 0
		for w < n && isSpace(ch(w).r) {
			units += ch(w).units
			w++
		}
		if w == n {
			break
		}
		if units+ch(w).units > limit {
			k = w
		}
		q, total := k, 0
		for q < n && total+ch(q).units <= limit {
			total += ch(q).units
			q++
		}
		if q == n {
			spans = append(spans, charRange{k, n})
			break
		}
		first := k
		for isSpace(ch(first).r) {
			first++
		}
		spans = append(spans, charRange{k, cutPoint(ch, n, first, q)})
		k = spans[len(spans)-1].to
	}
	return emit(toks, chars, spans), nil
}

// charRange is a chunk's characters [from, to); characters between chunks
// are dropped white space.
type charRange struct{ from, to int }

// cutPoint picks where to end a chunk of characters that must contain
// first and cannot go past q: the best kind of break wins, the latest of
// that kind.
func cutPoint(ch func(int) token, n, first, q int) int {
	const (
		paragraphBreak = iota
		lineBreak
		codeLineBreak
		spaceBreak
		kinds
	)
	best := [kinds]int{}
	newline := func(k int) (bool, bool) {
		if k < 0 || k >= n || ch(k).r != '\n' {
			return false, false
		}
		return true, ch(k).pre
	}
	for p := q; p > first; p-- {
		kind := -1
		before, preBefore := newline(p - 1)
		after, preAfter := newline(p)
		switch {
		case before && !preBefore:
			if nl, pre := newline(p - 2); nl && !pre {
				kind = paragraphBreak
			} else if after && !preAfter {
				kind = paragraphBreak
			} else {
				kind = lineBreak
			}
		case after && !preAfter:
			if nl, pre := newline(p + 1); nl && !pre {
				kind = paragraphBreak
			} else {
				kind = lineBreak
			}
		case before || after:
			kind = codeLineBreak
		case isSpace(ch(p - 1).r):
			kind = spaceBreak
		}
		if kind >= 0 && best[kind] == 0 {
			best[kind] = p
		}
	}
	for _, p := range best {
		if p > 0 {
			return p
		}
	}
	// Keep a combining mark, variation selector or joined emoji with the
	// character before it when there is room to.
	for p := q; p > first+1; p-- {
		if !clings(ch(p).r) && ch(p-1).r != '\u200d' {
			return p
		}
	}
	return q
}

// clings reports whether r attaches to the character before it.
func clings(r rune) bool {
	return r == '\u200d' || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) ||
		(r >= 0xFE00 && r <= 0xFE0F) || (r >= 0x1F3FB && r <= 0x1F3FF)
}

// emit writes each span of characters as a chunk, with the tags around
// and between its characters, closing the tags left open at its end and
// reopening them at the start of the next.
func emit(toks []token, chars []int, spans []charRange) []string {
	var (
		out   []string
		stack []token
		t     int // next token to write
	)
	for _, sp := range spans {
		var b strings.Builder
		for _, open := range stack {
			b.WriteString(open.raw)
		}
		last := chars[sp.to-1]
		for ; t <= last; t++ {
			tok := toks[t]
			switch tok.kind {
			case openToken:
				stack = append(stack, tok)
			case closeToken:
				stack = stack[:len(stack)-1]
			case charToken:
				if t < chars[sp.from] {
					continue
				}
			}
			b.WriteString(tok.raw)
		}
		for ; t < len(toks) && toks[t].kind == closeToken; t++ {
			stack = stack[:len(stack)-1]
			b.WriteString(toks[t].raw)
		}
		for i := len(stack) - 1; i >= 0; i-- {
			b.WriteString("</" + stack[i].name + ">")
		}
		out = append(out, b.String())
	}
	return out
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }

func isHex(c byte) bool { return (c >= '0' && c <= '9') || ((c|0x20) >= 'a' && (c|0x20) <= 'f') }

func hexVal(c byte) rune {
	if c <= '9' {
		return rune(c - '0')
	}
	return rune(c|0x20) - 'a' + 10
}

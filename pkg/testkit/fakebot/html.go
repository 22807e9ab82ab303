package fakebot

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Entity is a formatting entity of a message, as the Bot API reports it:
// Offset and Length count UTF-16 code units of the visible text.
type Entity struct {
	Type     string `json:"type"`
	Offset   int    `json:"offset"`
	Length   int    `json:"length"`
	URL      string `json:"url,omitempty"`
	Language string `json:"language,omitempty"`
}

// htmlTags are the start tags Telegram's HTML parse mode accepts. tg-emoji is
// left out on purpose: ce never sends custom emoji.
var htmlTags = map[string]string{
	"b": "bold", "strong": "bold",
	"i": "italic", "em": "italic",
	"u": "underline", "ins": "underline",
	"s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
	"span": "spoiler", "tg-spoiler": "spoiler",
	"a":          "text_link",
	"code":       "code",
	"pre":        "pre",
	"blockquote": "blockquote",
}

// ParseHTML parses text in Telegram's HTML parse mode the way the Bot API
// server does (tdlib's parser): it returns the visible text (tags removed,
// entities decoded) and its entities, or the reason Telegram gives after
// "Bad Request: can't parse entities: ". Unlike the server it does not trim
// white space. Tests use it as an oracle for the HTML ce produces.
func ParseHTML(text string) (string, []Entity, error) {
	type open struct {
		tag, arg string
		off      int
	}
	var (
		out   strings.Builder
		off   int
		stack []open
		ents  []Entity
	)
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '&' {
			if r, n := decodeEntity(text[i:]); n > 0 {
				out.WriteRune(r)
				off += utf16.RuneLen(r)
				i += n - 1
				continue
			}
		}
		if c != '<' {
			out.WriteByte(c)
			if c&0xC0 != 0x80 {
				off++
				if c >= 0xF0 {
					off++
				}
			}
			continue
		}
		begin := i
		i++
		if at(i) != '/' {
			for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			tag := strings.ToLower(text[begin+1 : i])
			if _, ok := htmlTags[tag]; !ok {
				return "", nil, fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", tag, begin)
			}
			arg := ""
			for at(i) != '>' {
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				nameBegin := i
				for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				name := text[nameBegin:i]
				if name == "" {
					return "", nil, fmt.Errorf("Empty attribute name in the tag \"%s\" at byte offset %d", tag, begin)
				}
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if tag == "blockquote" && name == "expandable" && at(i) != 0 {
						arg = "expandable"
						continue
					}
					return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", tag, begin)
				}
				i++
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return "", nil, fmt.Errorf("Unclosed start tag \"%s\" at byte offset %d", tag, begin)
				}
				var value string
				if q := at(i); q != '\'' && q != '"' {
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = strings.ToLower(text[tokenBegin:i])
					if !isHTMLSpace(at(i)) && at(i) != '>' {
						return "", nil, fmt.Errorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					i++
					var v strings.Builder
					for at(i) != q && at(i) != 0 {
						if at(i) == '&' {
							if r, n := decodeEntity(text[i:]); n > 0 {
								v.WriteRune(r)
								i += n
								continue
							}
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
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case tag == "a" && name == "href":
					arg = value
				case tag == "code" && name == "class" && strings.HasPrefix(value, "language-"):
					arg = value[len("language-"):]
				case tag == "span" && name == "class" && strings.HasPrefix(value, "tg-"):
					arg = value[len("tg-"):]
				case tag == "blockquote" && name == "expandable":
					arg = "expandable"
				}
			}
			if tag == "span" && arg != "spoiler" {
				return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			stack = append(stack, open{tag: tag, arg: arg, off: off})
			continue
		}
		if len(stack) == 0 {
			return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		i++
		nameBegin := i
		for at(i) != 0 && !isHTMLSpace(at(i)) && at(i) != '>' {
			i++
		}
		endName := text[nameBegin:i]
		for at(i) != 0 && isHTMLSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		top := stack[len(stack)-1]
		if endName != "" && endName != top.tag {
			return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.tag, endName)
		}
		stack = stack[:len(stack)-1]
		if off > top.off {
			ents = addEntity(ents, top.tag, top.arg, top.off, off-top.off)
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].tag)
	}
	for i := range ents {
		if ents[i].Type == "code" {
			ents[i].Language = ""
		}
	}
	sortEntities(ents)
	return out.String(), ents, nil
}

// addEntity appends the entity a closing tag ends. A <pre> around a
// <code class="language-x"> of the same span becomes one pre entity with
// that language, as Telegram does.
func addEntity(ents []Entity, tag, arg string, off, length int) []Entity {
	e := Entity{Type: htmlTags[tag], Offset: off, Length: length}
	switch tag {
	case "a":
		if arg == "" {
			return ents
		}
		e.URL = arg
	case "code":
		e.Language = arg
	case "blockquote":
		if arg == "expandable" {
			e.Type = "expandable_blockquote"
		}
	case "pre":
		if n := len(ents); n > 0 && ents[n-1].Type == "code" && ents[n-1].Offset == off && ents[n-1].Length == length {
			e.Language = ents[n-1].Language
			ents = ents[:n-1]
		}
	}
	return append(ents, e)
}

// sortEntities orders entities by offset, outer before inner, as Telegram
// reports them.
func sortEntities(ents []Entity) {
	sort.SliceStable(ents, func(i, j int) bool {
		if ents[i].Offset != ents[j].Offset {
			return ents[i].Offset < ents[j].Offset
		}
		return ents[i].Length > ents[j].Length
	})
}

// decodeEntity decodes the character reference at the start of s the way
// Telegram does: numeric references and &lt; &gt; &amp; &quot;, the
// semicolon optional. It returns the number of bytes used, 0 when s does not
// start with a reference it knows (the & is then a plain character).
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

// UTF16Len is the length of s in UTF-16 code units, the unit of every
// Telegram text limit.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// trimEntities trims white space at both ends of text, as Telegram does
// before storing a message, and moves the entities along.
func trimEntities(text string, ents []Entity) (string, []Entity) {
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	lead := UTF16Len(text[:len(text)-len(trimmed)])
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	size := UTF16Len(trimmed)
	var out []Entity
	for _, e := range ents {
		start, end := e.Offset-lead, e.Offset+e.Length-lead
		start, end = max(start, 0), min(end, size)
		if end <= start {
			continue
		}
		e.Offset, e.Length = start, end-start
		out = append(out, e)
	}
	return trimmed, out
}

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

package clidoc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Roff output rules, kept in one place so every caller gets them:
//   - every byte written is ASCII; other runes become \[uXXXX] so that
//     groff and mandoc render them without a preconv step;
//   - every hyphen is \- (an option name copied from the page must work
//     when pasted into a shell), every backslash is \e;
//   - a text line never starts with '.' or '\'' (it would be a request) nor
//     with a space (it would force a break): such lines get a leading \&;
//   - no blank lines: paragraphs are separated with .PP or .IP.

// esc escapes s for use inside a roff text line or a quoted macro argument.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '"':
			// Safe in text lines, and the only way to put a quote inside
			// a quoted macro argument.
			b.WriteString(`\(dq`)
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			// Control characters have no business in a man page.
		case r == utf8.RuneError:
			b.WriteString(`\[uFFFD]`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// bold and ital wrap escaped text in a font change that ends in roman.
func bold(s string) string { return `\fB` + esc(s) + `\fR` }
func ital(s string) string { return `\fI` + esc(s) + `\fR` }

// roffWriter accumulates a roff document line by line.
type roffWriter struct {
	b strings.Builder
}

// macro writes a request; each argument is escaped, and quoted when it is
// empty or holds a space.
func (w *roffWriter) macro(name string, args ...string) {
	w.b.WriteByte('.')
	w.b.WriteString(name)
	for _, a := range args {
		w.b.WriteByte(' ')
		if a == "" || strings.Contains(a, " ") {
			w.b.WriteString(`"` + esc(a) + `"`)
		} else {
			w.b.WriteString(esc(a))
		}
	}
	w.b.WriteByte('\n')
}

// raw writes one already escaped line as it is.
func (w *roffWriter) raw(line string) {
	w.b.WriteString(line)
	w.b.WriteByte('\n')
}

// line writes one already escaped text line, guarding its first character:
// a leading '.' or '\” would make it a request, a leading space a break.
func (w *roffWriter) line(l string) {
	if l == "" {
		return
	}
	if l[0] == '.' || l[0] == '\'' || l[0] == ' ' {
		w.b.WriteString(`\&`)
	}
	w.raw(l)
}

// filled writes an escaped text line of filled text, broken at spaces so
// that the source stays under 80 columns; roff refills it anyway.
func (w *roffWriter) filled(l string) {
	const width = 78
	for len(l) > width {
		i := strings.LastIndexByte(l[:width+1], ' ')
		if i <= 0 {
			i = strings.IndexByte(l, ' ')
			if i < 0 {
				break
			}
		}
		w.line(l[:i])
		l = strings.TrimLeft(l[i:], " ")
	}
	w.line(l)
}

// comment writes a roff comment line.
func (w *roffWriter) comment(text string) {
	w.b.WriteString(`.\" `)
	w.b.WriteString(esc(text))
	w.b.WriteByte('\n')
}

// blockKind says how a block of plain text is rendered.
type blockKind int

const (
	paragraph blockKind = iota // filled text
	literal                    // indented in the source: kept line for line
	bullets                    // lines starting with "- " or "* "
)

type block struct {
	kind    blockKind
	lines   []string // for bullets: one entry per item
	escaped []string // roff lines appended to a paragraph as they are
}

// parseBlocks splits help text into blocks separated by blank lines. The
// text is dedented first, so a Help() method returning an indented raw
// string reads the same as a flat one.
func parseBlocks(text string) []block {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.ReplaceAll(l, "\t", "    "), " ")
	}
	lines = dedent(lines)

	var blocks []block
	var chunk []string
	flush := func() {
		if len(chunk) > 0 {
			blocks = append(blocks, chunkBlock(chunk))
			chunk = nil
		}
	}
	for _, l := range lines {
		if l == "" {
			flush()
			continue
		}
		chunk = append(chunk, l)
	}
	flush()
	return blocks
}

func chunkBlock(lines []string) block {
	indented := true
	for _, l := range lines {
		if l[0] != ' ' {
			indented = false
			break
		}
	}
	if indented {
		return block{kind: literal, lines: dedent(lines)}
	}
	if isBullet(lines[0]) {
		var items []string
		for _, l := range lines {
			t := strings.TrimSpace(l)
			if isBullet(l) || len(items) == 0 {
				items = append(items, strings.TrimSpace(t[1:]))
				continue
			}
			items[len(items)-1] += " " + t
		}
		return block{kind: bullets, lines: items}
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return block{kind: paragraph, lines: lines}
}

func isBullet(l string) bool {
	return strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ")
}

// dedent removes the indentation common to all non-blank lines.
func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if l == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if common < 0 || n < common {
			common = n
		}
	}
	if common <= 0 {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= common {
			out[i] = l[common:]
		}
	}
	return out
}

// text renders plain help text. sep is the macro that starts every block
// but the first ("PP" at section level, "IP" inside a .TP body), and the
// first block gets one too unless first is set. extra lines, already
// escaped, are appended to the last paragraph or form one of their own.
func (w *roffWriter) text(s, sep string, first bool, extra ...string) {
	blocks := parseBlocks(s)
	if len(extra) > 0 {
		if n := len(blocks); n > 0 && blocks[n-1].kind == paragraph {
			blocks[n-1].escaped = extra
		} else {
			blocks = append(blocks, block{kind: paragraph, escaped: extra})
		}
	}
	for i, b := range blocks {
		if i > 0 || !first {
			w.macro(sep)
		}
		switch b.kind {
		case paragraph:
			for _, l := range b.lines {
				w.filled(esc(l))
			}
			for _, l := range b.escaped {
				w.filled(l)
			}
		case literal:
			// Inside a .TP body an .RS right after .IP would leave the .IP
			// empty (mandoc warns) and undo the body's indent: the body's
			// own indent sets the example apart there.
			nested := sep == "IP" && (i > 0 || !first)
			if !nested {
				w.macro("RS", "4")
			}
			w.macro("nf")
			for _, l := range b.lines {
				w.line(esc(l))
			}
			w.macro("fi")
			if !nested {
				w.macro("RE")
			}
		case bullets:
			for j, item := range b.lines {
				if j > 0 {
					w.macro("br")
				}
				w.filled(`\(bu ` + esc(item))
			}
		}
	}
}

// sections writes caller-supplied sections: a heading, the body, then the
// tagged items.
func (w *roffWriter) sections(ss []Section) {
	for _, s := range ss {
		w.macro("SH", strings.ToUpper(s.Title))
		w.text(s.Body, "PP", true)
		for _, it := range s.Items {
			w.macro("TP")
			w.line(bold(it.Term))
			w.text(it.Text, "IP", true)
		}
	}
}

// seeAlso writes the SEE ALSO section, if there are references.
func (w *roffWriter) seeAlso(refs []string) {
	if len(refs) == 0 {
		return
	}
	w.macro("SH", "SEE ALSO")
	out := make([]string, len(refs))
	for i, ref := range refs {
		out[i] = manRef(ref)
	}
	w.filled(strings.Join(out, ", "))
}

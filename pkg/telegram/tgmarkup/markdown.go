// Package tgmarkup turns the Markdown Claude writes into the HTML subset
// Telegram accepts, and cuts that HTML into messages that fit Telegram's
// limit.
//
// Convert parses the Markdown into blocks (paragraphs, headings, fenced
// code, block quotes, lists, tables, rules) and inline spans (bold, italic,
// strike, code, links) and renders each with Telegram's tags; everything
// else is escaped, so the output always parses. Split cuts HTML into chunks
// whose visible text (what Telegram counts: tags removed, entities decoded,
// in UTF-16 code units) fits a limit, preferring paragraph breaks, then line
// breaks, then lines inside a code block, then spaces, then any character,
// and closes the tags open at a cut and reopens them in the next chunk.
// PlainText is the fallback when Telegram still answers "can't parse
// entities".
//
// This package is implementation inside ce; other programs should not rely
// on its output staying the same.
package tgmarkup

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// block is a Markdown block.
type block struct {
	kind     blockKind
	text     string // paragraph and heading: inline Markdown; code: content
	lang     string
	children []block // quote
	items    []listItem
	ordered  bool
	table    [][]string
	align    []byte // per table column: 'l', 'r' or 'c'
}

type blockKind int

const (
	paragraph blockKind = iota
	heading
	codeBlock
	quote
	list
	rule
	table
)

type listItem struct {
	marker   string // "-" or "3." as written
	task     string // "", " " or "x" for task list items
	children []block
}

var (
	fenceOpen  = regexp.MustCompile("^( {0,3})(`{3,}|~{3,})[ \t]*([^`]*?)[ \t]*$")
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	hrLine     = regexp.MustCompile(`^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$`)
	quoteLine  = regexp.MustCompile(`^ {0,3}> ?(.*)$`)
	listLine   = regexp.MustCompile(`^( *)([-*+]|[0-9]{1,9}[.)])(?:([ \t]+)(.*))?$`)
	setextLine = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	tableDelim = regexp.MustCompile(`^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$`)
	taskBox    = regexp.MustCompile(`^\[([ xX])\][ \t]+`)
)

// Convert renders Markdown as Telegram HTML. The result always parses;
// Split it before sending, as it may be longer than a message.
func Convert(markdown string) string {
	markdown = strings.ReplaceAll(markdown, "\r\n", "\n")
	markdown = strings.ReplaceAll(markdown, "\r", "\n")
	if !utf8.ValidString(markdown) {
		markdown = strings.ToValidUTF8(markdown, "\uFFFD")
	}
	lines := strings.Split(markdown, "\n")
	for i, l := range lines {
		lines[i] = expandTabs(l)
	}
	return renderBlocks(parseBlocks(lines), 0, "\n\n", false)
}

// expandTabs replaces tabs in the indentation with spaces to tab stops of
// four, so indentation can be measured in spaces.
func expandTabs(l string) string {
	if !strings.Contains(l, "\t") {
		return l
	}
	var b strings.Builder
	col := 0
	for i, r := range l {
		switch r {
		case '\t':
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case ' ':
			b.WriteByte(' ')
			col++
		default:
			b.WriteString(l[i:])
			return b.String()
		}
	}
	return b.String()
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// startsBlock reports whether l begins a block that ends a paragraph.
func startsBlock(l string) bool {
	if fenceOpen.MatchString(l) || atxHeading.MatchString(l) || hrLine.MatchString(l) || quoteLine.MatchString(l) {
		return true
	}
	if m := listLine.FindStringSubmatch(l); m != nil && m[4] != "" && len(m[1]) < 4 {
		// An ordered list interrupts a paragraph only when it starts at 1.
		return !isOrdered(m[2]) || strings.TrimRight(m[2], ".)") == "1"
	}
	return false
}

func isOrdered(marker string) bool { return marker[0] >= '0' && marker[0] <= '9' }

func parseBlocks(lines []string) []block {
	var out []block
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case isBlank(l):
			i++
		case fenceOpen.MatchString(l):
			b, n := parseFence(lines[i:])
			out = append(out, b)
			i += n
		case atxHeading.MatchString(l):
			m := atxHeading.FindStringSubmatch(l)
			out = append(out, block{kind: heading, text: m[2]})
			i++
		case hrLine.MatchString(l):
			out = append(out, block{kind: rule})
			i++
		case quoteLine.MatchString(l):
			var inner []string
			for i < len(lines) {
				m := quoteLine.FindStringSubmatch(lines[i])
				if m == nil {
					break
				}
				inner = append(inner, m[1])
				i++
			}
			out = append(out, block{kind: quote, children: parseBlocks(inner)})
		case listLine.MatchString(l) && indentOf(l) < 4:
			b, n := parseList(lines[i:])
			out = append(out, b)
			i += n
		case i+1 < len(lines) && strings.Contains(l, "|") && tableDelim.MatchString(lines[i+1]) && strings.Contains(lines[i+1], "-"):
			b, n := parseTable(lines[i:])
			out = append(out, b)
			i += n
		default:
			var para []string
			for i < len(lines) && !isBlank(lines[i]) {
				if len(para) > 0 && setextLine.MatchString(lines[i]) {
					break
				}
				if len(para) > 0 && startsBlock(lines[i]) {
					break
				}
				para = append(para, strings.TrimSpace(lines[i]))
				i++
			}
			if i < len(lines) && len(para) > 0 && setextLine.MatchString(lines[i]) {
				out = append(out, block{kind: heading, text: strings.Join(para, "\n")})
				i++
				continue
			}
			out = append(out, block{kind: paragraph, text: strings.Join(para, "\n")})
		}
	}
	return out
}

// parseFence reads a fenced code block; an unclosed one runs to the end.
func parseFence(lines []string) (block, int) {
	m := fenceOpen.FindStringSubmatch(lines[0])
	indent, fence := len(m[1]), m[2]
	lang := strings.Fields(m[3])
	b := block{kind: codeBlock}
	if len(lang) > 0 {
		b.lang = lang[0]
	}
	var body []string
	i := 1
	for ; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimLeft(l, " ")
		if len(l)-len(t) < 4 && strings.HasPrefix(t, fence[:1]) {
			run := len(t) - len(strings.TrimLeft(t, fence[:1]))
			if run >= len(fence) && isBlank(t[run:]) {
				i++
				break
			}
		}
		body = append(body, l[min(indent, indentOf(l)):])
	}
	b.text = strings.Join(body, "\n")
	return b, i
}

// parseList reads a list and its items' nested blocks.
func parseList(lines []string) (block, int) {
	first := listLine.FindStringSubmatch(lines[0])
	b := block{kind: list, ordered: isOrdered(first[2])}
	base := len(first[1])
	i := 0
	for i < len(lines) {
		m := listLine.FindStringSubmatch(lines[i])
		if m == nil || len(m[1]) < base-3 || len(m[1]) > base+3 || isOrdered(m[2]) != b.ordered || (i > 0 && hrLine.MatchString(lines[i])) {
			break
		}
		spaces := len(m[3])
		if spaces > 4 || m[4] == "" {
			spaces = 1
		}
		width := len(m[1]) + len(m[2]) + spaces
		content := []string{m[4]}
		if m[4] != "" && spaces != len(m[3]) {
			content[0] = strings.Repeat(" ", len(m[3])-1) + m[4]
		}
		i++
		for i < len(lines) {
			l := lines[i]
			if isBlank(l) {
				j := i
				for j < len(lines) && isBlank(lines[j]) {
					j++
				}
				if j < len(lines) && indentOf(lines[j]) >= width {
					for ; i < j; i++ {
						content = append(content, "")
					}
					continue
				}
				break
			}
			if indentOf(l) >= width {
				content = append(content, l[width:])
				i++
				continue
			}
			if listLine.MatchString(l) || startsBlock(l) || isBlank(content[len(content)-1]) {
				break
			}
			content = append(content, strings.TrimSpace(l))
			i++
		}
		item := listItem{marker: m[2]}
		if tm := taskBox.FindStringSubmatch(content[0]); tm != nil {
			item.task = strings.ToLower(tm[1])
			content[0] = content[0][len(tm[0]):]
		}
		item.children = parseBlocks(content)
		b.items = append(b.items, item)
		// A blank line between items keeps the list going.
		j := i
		for j < len(lines) && isBlank(lines[j]) {
			j++
		}
		if j > i && j < len(lines) {
			if mm := listLine.FindStringSubmatch(lines[j]); mm != nil && isOrdered(mm[2]) == b.ordered && len(mm[1]) >= base-3 && len(mm[1]) <= base+3 {
				i = j
			}
		}
	}
	return b, i
}

// parseTable reads a GitHub-style table: header, delimiter row, rows.
func parseTable(lines []string) (block, int) {
	b := block{kind: table}
	b.table = append(b.table, splitRow(lines[0]))
	for _, d := range splitRow(lines[1]) {
		a := byte('l')
		switch {
		case strings.HasPrefix(d, ":") && strings.HasSuffix(d, ":"):
			a = 'c'
		case strings.HasSuffix(d, ":"):
			a = 'r'
		}
		b.align = append(b.align, a)
	}
	i := 2
	for ; i < len(lines) && strings.Contains(lines[i], "|") && !isBlank(lines[i]); i++ {
		b.table = append(b.table, splitRow(lines[i]))
	}
	return b, i
}

// splitRow splits a table row at pipes that are not escaped or inside code.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	if strings.HasSuffix(l, "|") && !strings.HasSuffix(l, `\|`) {
		l = l[:len(l)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var bullets = []string{"•", "◦", "▪"}

// renderBlocks renders blocks joined by sep. Inside a quote, code blocks
// and nested quotes are flattened, as Telegram does not nest them there.
func renderBlocks(blocks []block, depth int, sep string, inQuote bool) string {
	var parts []string
	for _, b := range blocks {
		var s string
		switch b.kind {
		case paragraph:
			s = renderInline(b.text)
		case heading:
			s = "<b>" + renderInlineWithin(b.text, "b") + "</b>"
		case codeBlock:
			switch {
			case inQuote:
				s = "<code>" + Escape(b.text) + "</code>"
			case b.lang != "":
				s = `<pre><code class="language-` + escapeAttr(sanitizeLang(b.lang)) + `">` + Escape(b.text) + "</code></pre>"
			default:
				s = "<pre>" + Escape(b.text) + "</pre>"
			}
		case quote:
			inner := renderBlocks(b.children, depth, "\n", true)
			if inQuote {
				s = inner
			} else {
				s = "<blockquote>" + inner + "</blockquote>"
			}
		case list:
			s = renderList(b, depth, inQuote)
		case rule:
			s = "──────────"
		case table:
			if inQuote {
				s = "<code>" + Escape(tableText(b)) + "</code>"
			} else {
				s = "<pre>" + Escape(tableText(b)) + "</pre>"
			}
		}
		if strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, sep)
}

func renderList(b block, depth int, inQuote bool) string {
	indent := strings.Repeat("    ", depth)
	var lines []string
	for n, it := range b.items {
		marker := bullets[min(depth, len(bullets)-1)]
		if b.ordered {
			num := strings.TrimRight(it.marker, ".)")
			if v, err := strconv.Atoi(num); err == nil {
				num = strconv.Itoa(v)
			} else {
				num = strconv.Itoa(n + 1)
			}
			marker = num + "."
		}
		switch it.task {
		case " ":
			marker += " ☐"
		case "x":
			marker += " ☑"
		}
		body := renderItemBody(it, depth, indent, inQuote)
		lines = append(lines, indent+marker+" "+body)
	}
	return strings.Join(lines, "\n")
}

// renderItemBody renders a list item's blocks: paragraph lines after the
// first are indented under the marker, nested lists indent themselves, and
// code, quotes and tables keep their own layout.
func renderItemBody(it listItem, depth int, indent string, inQuote bool) string {
	var parts []string
	for k, c := range it.children {
		var s string
		switch {
		case c.kind == list:
			s = renderList(c, depth+1, inQuote)
		case c.kind == paragraph:
			s = renderBlocks([]block{c}, depth+1, "\n", inQuote)
			if k == 0 {
				s = strings.ReplaceAll(s, "\n", "\n"+indent+"  ")
			} else {
				s = indent + "  " + strings.ReplaceAll(s, "\n", "\n"+indent+"  ")
			}
		default:
			s = renderBlocks([]block{c}, depth+1, "\n", inQuote)
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

func sanitizeLang(l string) string {
	var b strings.Builder
	for _, r := range l {
		if r < utf8.RuneSelf && (r == '-' || r == '_' || r == '+' || r == '.' || r == '#' ||
			(r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// tableText lays a table out in monospace columns.
func tableText(b block) string {
	cols := 0
	for _, row := range b.table {
		cols = max(cols, len(row))
	}
	cells := make([][]string, len(b.table))
	widths := make([]int, cols)
	for i, row := range b.table {
		cells[i] = make([]string, cols)
		for j := range cols {
			if j < len(row) {
				cells[i][j] = PlainText(renderInline(row[j]))
			}
			widths[j] = max(widths[j], displayWidth(cells[i][j]))
		}
	}
	var lines []string
	for i, row := range cells {
		var parts []string
		for j, c := range row {
			a := byte('l')
			if j < len(b.align) {
				a = b.align[j]
			}
			parts = append(parts, pad(c, widths[j], a))
		}
		lines = append(lines, strings.TrimRight(strings.Join(parts, " | "), " "))
		if i == 0 {
			var sep []string
			for _, w := range widths {
				sep = append(sep, strings.Repeat("-", w))
			}
			lines = append(lines, strings.Join(sep, "-+-"))
		}
	}
	return strings.Join(lines, "\n")
}

func pad(s string, width int, align byte) string {
	gap := width - displayWidth(s)
	switch align {
	case 'r':
		return strings.Repeat(" ", gap) + s
	case 'c':
		return strings.Repeat(" ", gap/2) + s + strings.Repeat(" ", gap-gap/2)
	}
	return s + strings.Repeat(" ", gap)
}

// displayWidth approximates the columns s takes in a monospace font: East
// Asian wide characters and most emoji take two.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r == 0x200D || (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0x0300 && r <= 0x036F):
		case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
			r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60,
			r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1FAFF, r >= 0x20000 && r <= 0x3FFFD:
			w += 2
		default:
			w++
		}
	}
	return w
}

package tgmarkup

import (
	"strings"
	"testing"
	"unicode"

	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

// checkChunks asserts what Split promises, using fakebot's copy of
// Telegram's parser as the judge: every chunk parses, fits the limit and
// has visible text; together they hold html's visible text, short of white
// space only at the end or where a run of it could not share a chunk.
func checkChunks(t testing.TB, html string, limit int, chunks []string) {
	t.Helper()
	if limit <= 0 {
		limit = DefaultLimit
	}
	whole, _, err := fakebot.ParseHTML(html)
	if err != nil {
		t.Fatalf("input does not parse: %v", err)
	}
	var concat strings.Builder
	for i, c := range chunks {
		text, _, err := fakebot.ParseHTML(c)
		if err != nil {
			t.Fatalf("chunk %d does not parse: %v\n%q", i, err, c)
		}
		if n := fakebot.UTF16Len(text); n > limit {
			t.Fatalf("chunk %d has %d UTF-16 units, limit %d", i, n, limit)
		}
		if strings.TrimFunc(text, unicode.IsSpace) == "" {
			t.Fatalf("chunk %d is blank: %q", i, c)
		}
		concat.WriteString(text)
	}
	got := concat.String()
	if !onlySpaceRemoved(whole, got) {
		t.Fatalf("chunks lost or doubled text\nwhole  %q\nchunks %q", whole, got)
	}
	if !hasSpaceRun(whole, limit-1) && !(strings.HasPrefix(whole, got) && strings.TrimFunc(whole[len(got):], unicode.IsSpace) == "") {
		t.Fatalf("white space dropped inside the text\nwhole  %q\nchunks %q", whole, got)
	}
	if strings.TrimFunc(whole, unicode.IsSpace) != "" && len(chunks) == 0 {
		t.Fatal("no chunks for visible text")
	}
}

// onlySpaceRemoved reports whether got is whole with some white space
// characters left out.
func onlySpaceRemoved(whole, got string) bool {
	g := []rune(got)
	j := 0
	for _, r := range whole {
		if j < len(g) && g[j] == r {
			j++
			continue
		}
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return j == len(g)
}

func hasSpaceRun(s string, units int) bool {
	run := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			run = 0
			continue
		}
		run += len(string(r))
		if r > 0xFFFF {
			run++
		}
		if run >= units {
			return true
		}
	}
	return false
}

func split(t *testing.T, html string, limit int) []string {
	t.Helper()
	chunks, err := Split(html, limit)
	if err != nil {
		t.Fatal(err)
	}
	checkChunks(t, html, limit, chunks)
	return chunks
}

func TestSplitAtTheLimit(t *testing.T) {
	emoji := "😀" // a surrogate pair: 2 UTF-16 units
	cases := []struct {
		name   string
		html   string
		chunks int
	}{
		{"4096 emoji units", strings.Repeat(emoji, 2048), 1},
		{"4097 units ending in emoji", "a" + strings.Repeat(emoji, 2048), 2},
		{"4097 units odd emoji", strings.Repeat(emoji, 2047) + "ab" + emoji, 2},
		{"4096 CJK", strings.Repeat("漢", 4096), 1},
		{"4097 CJK", strings.Repeat("漢", 4097), 2},
		{"4096 after entities", "<b>" + strings.Repeat("&lt;", 4096) + "</b>", 1},
		{"4097 after entities", "<b>" + strings.Repeat("&amp;", 4097) + "</b>", 2},
		{"4096 plus tags", strings.Repeat("<i>x</i>", 4096), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks := split(t, c.html, DefaultLimit)
			if len(chunks) != c.chunks {
				t.Fatalf("%d chunks, want %d", len(chunks), c.chunks)
			}
		})
	}
	chunks := split(t, "a"+strings.Repeat(emoji, 2048), 0)
	if n, _ := Len(chunks[0]); n != 4095 {
		t.Fatalf("first chunk %d units: a surrogate pair must not be cut", n)
	}
}

func TestSplitPrefersBreaks(t *testing.T) {
	para := func(c string, n int) string { return strings.Repeat(c, n) }
	cases := []struct {
		name  string
		html  string
		first string // the first chunk
	}{
		{"paragraph over line", para("a", 10) + "\n\n" + para("b", 10) + "\n" + para("c", 10), para("a", 10) + "\n\n"},
		{"line over space", "aaa bbb\nccc ddd eee", "aaa bbb\n"},
		{"space over rune", "aaaa bbbbbbbbbbbbbbbbb", "aaaa "},
		{"rune as last resort", para("x", 30), para("x", 16)},
		{"line outside code over line inside", "intro\n<pre>line 1\nline 2\nline 3</pre>", "intro\n"},
		{"line inside code over space", "<pre>aa bb\ncc dd ee ff gg</pre>", "<pre>aa bb\n</pre>"},
		{"keeps an emoji modifier", para("x", 15) + "👍🏽", para("x", 15)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks := split(t, c.html, 16)
			if chunks[0] != c.first {
				t.Fatalf("first chunk %q, want %q (all %q)", chunks[0], c.first, chunks)
			}
		})
	}
}

func TestSplitReopensTags(t *testing.T) {
	code := "<pre><code class=\"language-go\">" + strings.Repeat("fmt.Println(&quot;x&quot;)\n", 40) + "</code></pre>"
	chunks := split(t, "<b>Result:</b>\n\n"+code, 100)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	if chunks[0] != "<b>Result:</b>\n\n" {
		t.Fatalf("first chunk %q", chunks[0])
	}
	for _, c := range chunks[1:] {
		if !strings.HasPrefix(c, `<pre><code class="language-go">`) || !strings.HasSuffix(c, "</code></pre>") {
			t.Fatalf("code chunk not wrapped: %q", c)
		}
		if !strings.HasSuffix(strings.TrimSuffix(c, "</code></pre>"), "\n") && c != chunks[len(chunks)-1] {
			t.Fatalf("code cut inside a line: %q", c)
		}
	}

	chunks = split(t, `<a href="https://x.org/?a=1&amp;b=2"><b>`+strings.Repeat("link ", 10)+`</b></a> after`, 12)
	for _, c := range chunks[:len(chunks)-1] {
		if !strings.HasPrefix(c, `<a href="https://x.org/?a=1&amp;b=2"><b>`) {
			t.Fatalf("tags not reopened: %q", c)
		}
	}
	if last := chunks[len(chunks)-1]; strings.Contains(last, "<b></b>") {
		t.Fatalf("empty tags at the start of a chunk: %q", last)
	}
}

func TestSplitWhiteSpace(t *testing.T) {
	if chunks, err := Split(" \n\t ", 10); err != nil || len(chunks) != 0 {
		t.Fatalf("blank: %q %v", chunks, err)
	}
	if chunks, err := Split("", 10); err != nil || len(chunks) != 0 {
		t.Fatalf("empty: %q %v", chunks, err)
	}
	split(t, "abc"+strings.Repeat(" ", 40)+"def", 8)
	split(t, strings.Repeat("x", 8)+"\n\n\n\n", 8)
	split(t, "<b>   </b>"+strings.Repeat("y", 20)+"<i>      </i>", 8)
}

func TestSplitCanonicalEscapes(t *testing.T) {
	chunks := split(t, "&#65;&lt&gt;&quot;a & b", 100)
	if chunks[0] != `A&lt;&gt;"a &amp; b` {
		t.Fatalf("chunk %q", chunks[0])
	}
}

func TestSplitRejectsBadHTML(t *testing.T) {
	for _, h := range []string{"<b>x", "<div>x</div>", "x</i>", "<span>x</span>", "a\xffb"} {
		if _, err := Split(h, 100); err == nil {
			t.Errorf("Split(%q) accepted", h)
		}
		_, _, telegram := fakebot.ParseHTML(h)
		if (Validate(h) == nil) != (telegram == nil) && h != "a\xffb" {
			t.Errorf("Validate(%q) = %v, Telegram: %v", h, Validate(h), telegram)
		}
	}
}

func TestPlainText(t *testing.T) {
	cases := map[string]string{
		"<b>a</b> &lt;b&gt; &amp;":                      "a <b> &",
		`<pre><code class="language-go">x</code></pre>`: "x",
		"<b>unclosed &amp; <i>bad":                      "unclosed & bad",
		"a < b > c":                                     "a < b > c",
	}
	for in, want := range cases {
		if got := PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
	if n, err := Len("<b>😀</b>&amp;"); n != 3 || err != nil {
		t.Fatalf("Len = %d %v", n, err)
	}
}

func TestSplitLongConversion(t *testing.T) {
	var md strings.Builder
	for i := range 300 {
		md.WriteString("## Step **" + strings.Repeat("x", i%7) + "**\n\nSome text with `code` and a [link](https://x.org/" + strings.Repeat("p", i%5) + ").\n\n")
		if i%10 == 0 {
			md.WriteString("```go\n" + strings.Repeat("for i := range n { _ = i } // 漢字 😀\n", 30) + "```\n\n")
		}
		if i%15 == 0 {
			md.WriteString("- item one\n- item two\n  - nested\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n")
		}
	}
	html := Convert(md.String())
	for _, limit := range []int{DefaultLimit, 1000, 97} {
		split(t, html, limit)
	}
}

package tgmarkup

import (
	"testing"
	"unicode/utf8"

	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

// maxFuzzInput keeps inputs to message sizes; longer ones only slow the
// fuzzer down.
const maxFuzzInput = 16 << 10

var markdownSeeds = []string{
	"",
	"plain text",
	"# Heading\n\nParagraph with **bold**, *italic*, ~~strike~~, `code` & <tags>.",
	"```go\nfunc main() {\n\tprintln(\"<x>\")\n}\n```",
	"```\nunclosed fence\n\nstill code",
	"- a\n- b\n  - c\n1. one\n2. two\n- [x] done",
	"> quote **b**\n> > nested\n> ```\n> code\n> ```",
	"| a | b |\n|:--|--:|\n| `x|y` | **z** |",
	"[link](https://example.com/a_b?c=1&d=\"e\") [bad](javascript:x) <https://auto.link> ![img](http://x/i.png)",
	"***both*** **bold *in* bold** _it_ __b__ snake_case 2 * 3",
	"😀😀 漢字 e\u0301 👍🏽 \u200d",
	"line\nline\n\n\n\nspaced   out \t tabs",
	"Setext\n===\n\n---\n\n***",
	"\\*escaped\\* \\[not link\\] &amp; &lt;",
	"**unclosed *mixed _all `over ~~the [place",
}

// FuzzConvert checks that any Markdown converts to HTML Telegram accepts,
// and that Split of it keeps its promises at any limit.
func FuzzConvert(f *testing.F) {
	for i, s := range markdownSeeds {
		f.Add(s, uint16(16+i*37))
	}
	f.Fuzz(func(t *testing.T, md string, limit uint16) {
		if len(md) > maxFuzzInput {
			return
		}
		html := Convert(md)
		if _, _, err := fakebot.ParseHTML(html); err != nil {
			t.Fatalf("Telegram would reject Convert(%q) = %q: %v", md, html, err)
		}
		if err := Validate(html); err != nil {
			t.Fatalf("Validate rejects Convert(%q) = %q: %v", md, html, err)
		}
		l := int(limit%4096) + 2
		chunks, err := Split(html, l)
		if err != nil {
			t.Fatal(err)
		}
		checkChunks(t, html, l, chunks)
	})
}

// FuzzSplit checks Split on any HTML: its parser agrees with Telegram's on
// what parses and what is visible, and the chunks keep Split's promises.
func FuzzSplit(f *testing.F) {
	for i, s := range markdownSeeds {
		f.Add(Convert(s), uint16(2+i*11))
	}
	f.Add("<b>a<i>b</i></b><a href='x'>&#128512;</a><pre><code class=\"language-x\">y\n</code></pre>", uint16(3))
	f.Add("<blockquote expandable>q</blockquote><tg-spoiler>s</tg-spoiler><span class=\"tg-spoiler\">t</span>", uint16(2))
	f.Add("&ltx &amp &#x41 &#0; &nbsp; a&b <b\n>c</b >", uint16(5))
	f.Fuzz(func(t *testing.T, html string, limit uint16) {
		if len(html) > maxFuzzInput {
			return
		}
		want, _, telegram := fakebot.ParseHTML(html)
		err := Validate(html)
		if utf8.ValidString(html) && (err == nil) != (telegram == nil) {
			t.Fatalf("Validate(%q) = %v, Telegram: %v", html, err, telegram)
		}
		if err != nil || !utf8.ValidString(html) {
			return
		}
		if got := PlainText(html); got != want {
			t.Fatalf("PlainText(%q) = %q, Telegram shows %q", html, got, want)
		}
		l := int(limit%300) + 2
		chunks, err := Split(html, l)
		if err != nil {
			t.Fatal(err)
		}
		checkChunks(t, html, l, chunks)
	})
}

package tgmarkup

import (
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/testkit/fakebot"
)

func TestConvert(t *testing.T) {
	cases := []struct{ name, md, want string }{
		{"paragraphs", "one\ntwo\n\n\nthree", "one\ntwo\n\nthree"},
		{"escaping", `a < b && c > d "q"`, `a &lt; b &amp;&amp; c &gt; d "q"`},
		{"html is text", "<b>not bold</b><br>", "&lt;b&gt;not bold&lt;/b&gt;&lt;br&gt;"},
		{"headings", "# One\n### Three ###\nText", "<b>One</b>\n\n<b>Three</b>\n\nText"},
		{"setext", "Title\n=====\nbody", "<b>Title</b>\n\nbody"},
		{"bold heading", "## **Bold** title", "<b>Bold title</b>"},
		{"emphasis", "*i* _i_ **b** __b__ ***bi*** ~~s~~", "<i>i</i> <i>i</i> <b>b</b> <b>b</b> <b><i>bi</i></b> <s>s</s>"},
		{"nested", "**bold *and italic***", "<b>bold <i>and italic</i></b>"},
		{"not emphasis", "2 * 3 * 4, snake_case_name, a**", "2 * 3 * 4, snake_case_name, a**"},
		{"unclosed", "**open and `tick", "**open and `tick"},
		{"intraword star", "foo*bar*baz", "foo<i>bar</i>baz"},
		{"escapes", `\*not\* \_x\_ \\ \<`, `*not* _x_ \ &lt;`},
		{"code span", "use `a < b` and ``x ` y``", "use <code>a &lt; b</code> and <code>x ` y</code>"},
		{"no markup in code", "`**x**`", "<code>**x**</code>"},
		{"link", "[site](https://x.org/a?b=1&c=\"d\")", `<a href="https://x.org/a?b=1&amp;c=&quot;d&quot;">site</a>`},
		{"link with title", `[t](https://x.org "Title")`, `<a href="https://x.org">t</a>`},
		{"link schemes", "[a](tg://resolve?domain=x) [m](mailto:a@b.c) [j](javascript:alert(1)) [f](src/main.go)",
			`<a href="tg://resolve?domain=x">a</a> <a href="mailto:a@b.c">m</a> j f`},
		{"bold link", "[**b**](https://x.org)", `<a href="https://x.org"><b>b</b></a>`},
		{"code in link", "[`x`](https://x.org)", `<a href="https://x.org">x</a>`},
		{"image", "![logo](https://x.org/l.png)", `<a href="https://x.org/l.png">logo</a>`},
		{"autolink", "<https://x.org> <a@b.c> <not a link>", `<a href="https://x.org">https://x.org</a> <a href="mailto:a@b.c">a@b.c</a> &lt;not a link&gt;`},
		{"fence", "```go\nx := <-ch\n```", "<pre><code class=\"language-go\">x := &lt;-ch</code></pre>"},
		{"fence no lang", "~~~\nplain\n~~~", "<pre>plain</pre>"},
		{"unclosed fence", "```py\nprint(1)\n\nmore", "<pre><code class=\"language-py\">print(1)\n\nmore</code></pre>"},
		{"odd lang", "```c\"><b>\nx\n```", "<pre><code class=\"language-cb\">x</code></pre>"},
		{"bullets", "- a\n- b\n  - c\n    - d\n* e", "• a\n• b\n    ◦ c\n        ▪ d\n• e"},
		{"numbers", "1. a\n2. b\n10. c", "1. a\n2. b\n10. c"},
		{"loose list", "- a\n\n- b", "• a\n• b"},
		{"tasks", "- [ ] todo\n- [x] done", "• ☐ todo\n• ☑ done"},
		{"list with code", "1. run:\n   ```sh\n   make\n   ```\n2. done", "1. run:\n<pre><code class=\"language-sh\">make</code></pre>\n2. done"},
		{"list continuation", "- one\n  more\n- two", "• one\n  more\n• two"},
		{"quote", "> a **b**\n> c\n\nafter", "<blockquote>a <b>b</b>\nc</blockquote>\n\nafter"},
		{"quote flattens", "> > inner\n> ```\n> code\n> ```", "<blockquote>inner\n<code>code</code></blockquote>"},
		{"rule", "a\n\n---\n\nb", "a\n\n──────────\n\nb"},
		{"table", "| a | b |\n|---|--:|\n| **x** | 10 |\n| yy | 2 |", "<pre>a  |  b\n---+---\nx  | 10\nyy |  2</pre>"},
		{"crlf", "a\r\nb\r\n\r\nc", "a\nb\n\nc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Convert(c.md)
			if got != c.want {
				t.Fatalf("Convert(%q)\n got %q\nwant %q", c.md, got, c.want)
			}
			if _, _, err := fakebot.ParseHTML(got); err != nil {
				t.Fatalf("Telegram would reject %q: %v", got, err)
			}
		})
	}
}

func TestConvertLinearOnStrayDelimiters(t *testing.T) {
	md := strings.Repeat("*a _b `c [d ~~e ", 20000)
	html := Convert(md)
	if err := Validate(html); err != nil {
		t.Fatal(err)
	}
}

package clidoc

import (
	"fmt"
	"regexp"
	"strings"
)

// lintRoff checks the subset of man(7) that Man emits, and the escaping
// rules it promises, without needing groff or mandoc.
func lintRoff(page string) []string {
	var problems []string
	bad := func(n int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d: %s", n, fmt.Sprintf(format, args...)))
	}
	if !strings.HasSuffix(page, "\n") {
		problems = append(problems, "no final newline")
	}
	requests := map[string]bool{
		"TH": true, "SH": true, "SS": true, "PP": true, "TP": true, "IP": true,
		"RS": true, "RE": true, "nf": true, "fi": true, "br": true, "nh": true, "ad": true,
	}
	escape := regexp.MustCompile(`^\\(-|e|&|f[BIR]|\(dq|\(bu|\[u[0-9A-F]{4,6}\])`)
	var (
		sawTH, inNF bool
		rs          int
		sections    []string
		wantTag     bool
	)
	lines := strings.Split(strings.TrimSuffix(page, "\n"), "\n")
	for i, l := range lines {
		n := i + 1
		for _, c := range []byte(l) {
			if c > 0x7e || c < 0x20 {
				bad(n, "byte %#x", c)
			}
		}
		switch {
		case l == "":
			bad(n, "blank line")
			continue
		case strings.HasSuffix(l, " "):
			bad(n, "trailing space")
		case strings.HasPrefix(l, `.\"`):
			continue
		case l[0] == '\'':
			bad(n, "text line starts with an apostrophe")
		case l[0] == ' ':
			bad(n, "text line starts with a space")
		}
		if l[0] == '.' {
			name, args, _ := strings.Cut(l[1:], " ")
			if !requests[name] {
				bad(n, "unknown request .%s", name)
			}
			if name != "TH" && !sawTH {
				bad(n, ".%s before .TH", name)
			}
			if wantTag {
				bad(n, ".TP without a tag line")
				wantTag = false
			}
			switch name {
			case "TH":
				if sawTH {
					bad(n, "second .TH")
				}
				sawTH = true
				if got := len(regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(args, -1)); got != 5 {
					bad(n, ".TH has %d arguments, want 5", got)
				}
				continue // the date keeps its plain hyphens
			case "SH":
				sections = append(sections, args)
			case "TP":
				wantTag = true
			case "RS":
				rs++
			case "RE":
				if rs--; rs < 0 {
					bad(n, ".RE without .RS")
				}
			case "nf":
				if inNF {
					bad(n, "nested .nf")
				}
				inNF = true
			case "fi":
				if !inNF {
					bad(n, ".fi without .nf")
				}
				inNF = false
			}
		} else {
			if !sawTH {
				bad(n, "text before .TH")
			}
			wantTag = false
		}
		font := "R"
		for j := 0; j < len(l); j++ {
			switch l[j] {
			case '-':
				bad(n, "unescaped hyphen at column %d", j+1)
			case '\\':
				m := escape.FindString(l[j:])
				if m == "" {
					bad(n, "unknown escape at column %d: %.6q", j+1, l[j:])
					continue
				}
				if strings.HasPrefix(m, `\f`) {
					font = m[2:]
				}
				j += len(m) - 1
			}
		}
		if font != "R" {
			bad(n, "font \\f%s left open", font)
		}
	}
	if rs != 0 {
		problems = append(problems, fmt.Sprintf("%d unclosed .RS", rs))
	}
	if inNF {
		problems = append(problems, "unclosed .nf")
	}
	if len(sections) < 2 || sections[0] != "NAME" || sections[1] != "SYNOPSIS" {
		problems = append(problems, fmt.Sprintf("sections start %q, want NAME, SYNOPSIS", sections))
	}
	seen := map[string]bool{}
	for _, s := range sections {
		if seen[s] {
			problems = append(problems, "section "+s+" twice")
		}
		seen[s] = true
	}
	return problems
}

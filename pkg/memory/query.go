package memory

import (
	"fmt"
	"strings"
	"unicode"
)

// QueryError is a search query that cannot be run; its message says why
// in words for people and models.
type QueryError struct {
	Query string
	Msg   string
}

func (e *QueryError) Error() string { return fmt.Sprintf("bad search query %q: %s", e.Query, e.Msg) }

// QuerySyntax describes the query language, for help texts and hints.
const QuerySyntax = `words (all must match, in any form: "deploy" finds "deploying"), "an exact phrase", prefix* (deplo*), ` +
	`a OR b, a NOT b, parentheses, title:word or tags:word to look in one field`

// ftsQuery turns a search query into an FTS5 expression. Words are quoted,
// so that punctuation in them ("deploy-key", "what's", "v1.2") is never
// FTS5 syntax; AND, OR, NOT (in capitals) and parentheses are operators.
// Mistakes FTS5 would report as "syntax error near ..." are found here and
// explained instead. For a query of several plain terms, anyOf is the
// expression that matches notes with any of them ("" otherwise).
func ftsQuery(q string) (all, anyOf string, err error) {
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", &QueryError{Query: q, Msg: fmt.Sprintf(format, args...)}
	}
	type token struct {
		kind string // "term", "op", "(", ")"
		text string
	}
	var toks []token
	pending := "" // the column of the phrase that follows
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')':
			toks = append(toks, token{kind: string(r)})
			i++
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return bad(`a quote is not closed: end the phrase with "`)
			}
			phrase := string(rs[i+1 : j])
			j++
			prefix := j < len(rs) && rs[j] == '*'
			if prefix {
				j++
			}
			if t := quote(phrase, prefix); t != "" {
				if pending != "" {
					t = pending + " : " + t
				}
				toks = append(toks, token{kind: "term", text: t})
			}
			pending = ""
			i = j
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '(' && rs[j] != ')' && rs[j] != '"' {
				j++
			}
			word := string(rs[i:j])
			i = j
			if word == "AND" || word == "OR" || word == "NOT" {
				toks = append(toks, token{kind: "op", text: word})
				continue
			}
			column := ""
			if c, rest, ok := strings.Cut(word, ":"); ok {
				switch strings.ToLower(c) {
				case "title":
					column, word = "title", rest
				case "tag", "tags":
					column, word = "tags", rest
				case "body":
					column, word = "body", rest
				}
			}
			prefix := strings.HasSuffix(word, "*")
			word = strings.TrimRight(word, "*")
			if column != "" && word == "" && !prefix && i < len(rs) && rs[i] == '"' {
				pending = column // title:"a phrase"
				continue
			}
			t := quote(word, prefix)
			if t == "" {
				if prefix && word == "" {
					return bad("* must end a word (deplo* finds deploy, deployment)")
				}
				continue // punctuation only
			}
			if column != "" {
				t = column + " : " + t
			}
			toks = append(toks, token{kind: "term", text: t})
		}
	}
	var out []string
	depth := 0
	prev := "" // kind of the previous token; "" at the start
	for _, t := range toks {
		switch t.kind {
		case "term", "(":
			if prev == "term" || prev == ")" {
				out = append(out, "AND")
			}
			if t.kind == "(" {
				depth++
				out = append(out, "(")
			} else {
				out = append(out, t.text)
			}
		case "op":
			if prev == "" || prev == "op" || prev == "(" {
				return bad("%s needs a term before it (a %s b)", t.text, t.text)
			}
			out = append(out, t.text)
		case ")":
			if depth == 0 {
				return bad("a ) has no ( before it")
			}
			switch prev {
			case "(":
				return bad("empty parentheses")
			case "op":
				return bad("%s needs a term after it (a %s b)", out[len(out)-1], out[len(out)-1])
			}
			depth--
			out = append(out, ")")
		}
		prev = t.kind
	}
	switch {
	case len(out) == 0:
		return bad("nothing to search for: give words, \"a phrase\" or a prefix*")
	case prev == "op":
		return bad("%s needs a term after it (a %s b)", out[len(out)-1], out[len(out)-1])
	case depth > 0:
		return bad("a ( is not closed")
	}
	var terms []string
	for _, t := range toks {
		if t.kind != "term" {
			terms = nil
			break
		}
		terms = append(terms, t.text)
	}
	if len(terms) > 1 {
		anyOf = strings.Join(terms, " OR ")
	}
	return strings.Join(out, " "), anyOf, nil
}

// quote returns s as an FTS5 string, or "" when s has no letter or digit
// (it would be an empty phrase).
func quote(s string, prefix bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return ""
	}
	t := `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	if prefix {
		t += "*"
	}
	return t
}

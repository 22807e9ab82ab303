package memory

import (
	"errors"
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
	toks, err := lexQuery(q)
	if err == nil {
		all, err = joinQuery(toks)
	}
	if err != nil {
		return "", "", &QueryError{Query: q, Msg: err.Error()}
	}
	return all, anyTerm(toks), nil
}

// queryToken is one token of a search query.
type queryToken struct {
	kind string // "term", "op", "(", ")"
	text string // a term as an FTS5 expression, or the operator
}

// queryLexer splits a search query into tokens.
type queryLexer struct {
	rs      []rune
	i       int
	pending string // the column of the phrase that follows
	toks    []queryToken
}

// lexQuery splits q into terms, quoted for FTS5 with their column, and
// operators; the error says what is wrong with q.
func lexQuery(q string) ([]queryToken, error) {
	l := queryLexer{rs: []rune(q)}
	for l.i < len(l.rs) {
		var err error
		switch r := l.rs[l.i]; {
		case unicode.IsSpace(r):
			l.i++
		case r == '(' || r == ')':
			l.toks = append(l.toks, queryToken{kind: string(r)})
			l.i++
		case r == '"':
			err = l.phrase()
		default:
			err = l.word()
		}
		if err != nil {
			return nil, err
		}
	}
	return l.toks, nil
}

// phrase reads the quoted phrase at the current position, with a * after
// it making it a prefix.
func (l *queryLexer) phrase() error {
	rs := l.rs
	j := l.i + 1
	for j < len(rs) && rs[j] != '"' {
		j++
	}
	if j == len(rs) {
		return errors.New(`a quote is not closed: end the phrase with "`)
	}
	phrase := string(rs[l.i+1 : j])
	j++
	prefix := j < len(rs) && rs[j] == '*'
	if prefix {
		j++
	}
	if t := quote(phrase, prefix); t != "" {
		if l.pending != "" {
			t = l.pending + " : " + t
		}
		l.toks = append(l.toks, queryToken{kind: "term", text: t})
	}
	l.pending = ""
	l.i = j
	return nil
}

// word reads the word at the current position: an operator, or a term
// with an optional column (title:) and * for a prefix. A word of
// punctuation only is dropped.
func (l *queryLexer) word() error {
	rs := l.rs
	j := l.i
	for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '(' && rs[j] != ')' && rs[j] != '"' {
		j++
	}
	word := string(rs[l.i:j])
	l.i = j
	if word == "AND" || word == "OR" || word == "NOT" {
		l.toks = append(l.toks, queryToken{kind: "op", text: word})
		return nil
	}
	column, word := queryColumn(word)
	prefix := strings.HasSuffix(word, "*")
	word = strings.TrimRight(word, "*")
	if column != "" && word == "" && !prefix && l.i < len(rs) && rs[l.i] == '"' {
		l.pending = column // title:"a phrase"
		return nil
	}
	t := quote(word, prefix)
	if t == "" {
		if prefix && word == "" {
			return errors.New("* must end a word (deplo* finds deploy, deployment)")
		}
		return nil // punctuation only
	}
	if column != "" {
		t = column + " : " + t
	}
	l.toks = append(l.toks, queryToken{kind: "term", text: t})
	return nil
}

// queryColumn splits a word into the column it names (title:word) and the
// rest; a word without a known column is returned whole.
func queryColumn(word string) (column, rest string) {
	if c, rest, ok := strings.Cut(word, ":"); ok {
		switch strings.ToLower(c) {
		case "title":
			return "title", rest
		case "tag", "tags":
			return "tags", rest
		case "body":
			return "body", rest
		}
	}
	return "", word
}

// joinQuery joins toks into an FTS5 expression, with AND between terms
// that have no operator between them; the error says which operator or
// parenthesis is out of place.
func joinQuery(toks []queryToken) (string, error) {
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
				return "", fmt.Errorf("%s needs a term before it (a %s b)", t.text, t.text)
			}
			out = append(out, t.text)
		case ")":
			if depth == 0 {
				return "", errors.New("a ) has no ( before it")
			}
			switch prev {
			case "(":
				return "", errors.New("empty parentheses")
			case "op":
				return "", fmt.Errorf("%s needs a term after it (a %s b)", out[len(out)-1], out[len(out)-1])
			}
			depth--
			out = append(out, ")")
		}
		prev = t.kind
	}
	switch {
	case len(out) == 0:
		return "", errors.New("nothing to search for: give words, \"a phrase\" or a prefix*")
	case prev == "op":
		return "", fmt.Errorf("%s needs a term after it (a %s b)", out[len(out)-1], out[len(out)-1])
	case depth > 0:
		return "", errors.New("a ( is not closed")
	}
	return strings.Join(out, " "), nil
}

// anyTerm is the expression that matches any of toks when toks are
// several plain terms, "" otherwise.
func anyTerm(toks []queryToken) string {
	var terms []string
	for _, t := range toks {
		if t.kind != "term" {
			return ""
		}
		terms = append(terms, t.text)
	}
	if len(terms) > 1 {
		return strings.Join(terms, " OR ")
	}
	return ""
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

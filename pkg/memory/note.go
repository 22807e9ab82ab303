package memory

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on notes.
const (
	// MaxNoteBytes bounds the content of a note that is added: memory is
	// for what a later session should read, not for files; 10 MB notes are
	// refused with a hint to store a path instead.
	MaxNoteBytes = 1 << 20
	// MaxTitleRunes bounds a title; longer ones are cut.
	MaxTitleRunes = 200
	// MaxTags bounds the tags of a note.
	MaxTags = 20
	// maxTagRunes bounds one tag.
	maxTagRunes = 40
	// maxSlug bounds the slug part of a generated ID.
	maxSlug = 40
)

// Note is one note: its front matter, its Markdown body and its file.
type Note struct {
	// ID is the note's file name under the notes directory, without ".md"
	// (a path with slashes for notes in subdirectories).
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Tags    []string  `json:"tags"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Source says who wrote the note: "session:NAME", "user:NAME", or ""
	// for a file written by hand.
	Source string `json:"source,omitempty"`
	// Body is the Markdown after the front matter; empty in lists and hits.
	Body string `json:"body,omitempty"`
	// Path is the note's file.
	Path string `json:"path"`
	// Problem says what was wrong with the file ("" when nothing was): a
	// front matter that is not YAML, a binary or oversized file. Such a
	// note is still listed, and searchable by what could be read.
	Problem string `json:"problem,omitempty"`
}

// Errors of notes that are added.
var (
	ErrEmpty    = errors.New("the note is empty: give it a title or some content")
	ErrBinary   = errors.New("the content is not text (it has NUL bytes or is not UTF-8): notes are Markdown")
	ErrBadTag   = errors.New("bad tag")
	ErrTooLarge = fmt.Errorf("the note is larger than %d KiB: memory holds notes, not files (store the file elsewhere and note its path)", MaxNoteBytes>>10)
)

// ErrNotFound is the error of an ID that names no note.
var ErrNotFound = errors.New("no such note")

// frontMatter is the front matter written for new notes, in this order.
type frontMatter struct {
	ID      string    `yaml:"id"`
	Title   string    `yaml:"title"`
	Tags    []string  `yaml:"tags,flow"`
	Created time.Time `yaml:"created"`
	Updated time.Time `yaml:"updated"`
	Source  string    `yaml:"source,omitempty"`
}

// render returns the file content of n.
func render(n Note) ([]byte, error) {
	tags := n.Tags
	if tags == nil {
		tags = []string{}
	}
	fm, err := yaml.Marshal(frontMatter{ID: n.ID, Title: n.Title, Tags: tags, Created: n.Created.UTC(), Updated: n.Updated.UTC(), Source: n.Source})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("---\n")
	b.Write(fm)
	b.WriteString("---\n\n")
	b.WriteString(n.Body)
	if n.Body != "" && !strings.HasSuffix(n.Body, "\n") {
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// splitFrontMatter splits a file into its front matter (without the ---
// lines) and body. ok is false when the file has none; closed is false when
// it opens a front matter that never ends.
func splitFrontMatter(data []byte) (fm, body []byte, ok, closed bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(data, []byte("---\n")):
		rest = data[4:]
	case bytes.HasPrefix(data, []byte("---\r\n")):
		rest = data[5:]
	default:
		return nil, data, false, false
	}
	for off := 0; off <= len(rest); {
		end := bytes.IndexByte(rest[off:], '\n')
		line := rest[off:]
		next := len(rest)
		if end >= 0 {
			line = rest[off : off+end]
			next = off + end + 1
		}
		if l := strings.TrimRight(string(line), " \t\r"); l == "---" || l == "..." {
			return rest[:off], bytes.TrimLeft(rest[next:], "\r\n"), true, true
		}
		if end < 0 {
			break
		}
		off = next
	}
	return nil, data, true, false
}

// parse reads a note file. It never fails: what it cannot understand is
// said in Problem, and the note keeps what could be read.
func parse(id string, data []byte, mtime time.Time) Note {
	n := Note{ID: id, Created: mtime.UTC(), Updated: mtime.UTC()}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		n.Title = path.Base(id)
		n.Problem = "not a text file (NUL bytes or not UTF-8); only its name is searchable"
		return n
	}
	if len(data) > MaxNoteBytes {
		cut := MaxNoteBytes
		for cut > 0 && !utf8.RuneStart(data[cut]) {
			cut--
		}
		n.Problem = fmt.Sprintf("%s, over the %d KiB limit of notes; only the first %d KiB are searchable", sizeString(len(data)), MaxNoteBytes>>10, MaxNoteBytes>>10)
		data = data[:cut]
	}
	fm, body, has, closed := splitFrontMatter(data)
	n.Body = string(body)
	switch {
	case !has:
	case !closed:
		n.Problem = joinProblem(n.Problem, "its front matter has no closing --- line; read as plain Markdown")
	default:
		if err := n.readFrontMatter(fm); err != nil {
			n.Problem = joinProblem(n.Problem, "its front matter is not valid YAML ("+err.Error()+"); read as plain Markdown")
			n.Body = string(data)
		}
	}
	if n.Title == "" {
		n.Title = titleFrom(n.Body)
	}
	if n.Title == "" {
		n.Title = path.Base(id)
	}
	if n.Created.After(n.Updated) {
		n.Created = n.Updated
	}
	return n
}

func joinProblem(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// readFrontMatter fills n from a front matter, leniently: hand-written
// notes may give tags as a string or times as dates.
func (n *Note) readFrontMatter(fm []byte) error {
	var m map[string]any
	if err := yaml.Unmarshal(fm, &m); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if v, ok := m["title"]; ok && v != nil {
		n.Title = cleanTitle(fmt.Sprint(v))
	}
	switch v := m["tags"].(type) {
	case []any:
		var tags []string
		for _, t := range v {
			if t != nil {
				tags = append(tags, fmt.Sprint(t))
			}
		}
		n.Tags = normalizeTags(tags)
	case string:
		n.Tags = normalizeTags(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }))
	}
	if t, ok := timeValue(m["updated"]); ok {
		n.Updated = t
		n.Created = t
	}
	if t, ok := timeValue(m["created"]); ok {
		n.Created = t
	}
	if s, ok := m["source"].(string); ok {
		n.Source = strings.TrimSpace(s)
	}
	return nil
}

func timeValue(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
				return t.UTC(), true
			}
		}
	}
	return time.Time{}, false
}

// titleFrom returns the first heading, else the first non-empty line, of
// Markdown text, cleaned.
func titleFrom(body string) string {
	first := ""
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			return cleanTitle(strings.TrimLeft(line, "# "))
		}
		if first == "" {
			first = line
		}
		break
	}
	return cleanTitle(first)
}

// cleanTitle makes s one line of at most MaxTitleRunes runes.
func cleanTitle(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > MaxTitleRunes {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:MaxTitleRunes-1])) + "…"
	}
	return s
}

// normalizeTags lower-cases tags, drops a leading '#', turns spaces into
// '-', and drops empty and repeated ones, keeping the order.
func normalizeTags(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "#")))
		t = strings.Join(strings.Fields(t), "-")
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// checkTags validates the tags of a note that is added.
func checkTags(tags []string) error {
	if len(tags) > MaxTags {
		return fmt.Errorf("%w: %d tags; a note may have at most %d", ErrBadTag, len(tags), MaxTags)
	}
	for _, t := range tags {
		if utf8.RuneCountInString(t) > maxTagRunes {
			return fmt.Errorf("%w %q: longer than %d characters", ErrBadTag, t, maxTagRunes)
		}
		for _, r := range t {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_./:+", r) {
				return fmt.Errorf("%w %q: tags are letters, digits and - _ . / : +", ErrBadTag, t)
			}
		}
	}
	return nil
}

// checkContent refuses what cannot be a note.
func checkContent(s string) error {
	if len(s) > MaxNoteBytes {
		return fmt.Errorf("%w (this one is %s)", ErrTooLarge, sizeString(len(s)))
	}
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		return ErrBinary
	}
	return nil
}

func sizeString(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// slug turns a title into the readable part of an ID: lower-case ASCII
// letters and digits in words joined by '-', cut at a word boundary.
func slug(title string) string {
	var words []string
	var w strings.Builder
	flush := func() {
		if w.Len() > 0 {
			words = append(words, w.String())
			w.Reset()
		}
	}
	for _, r := range strings.ToLower(title) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			w.WriteRune(r)
		case r == '\'' || r == '’':
		default:
			flush()
		}
	}
	flush()
	out := ""
	for _, word := range words {
		next := word
		if out != "" {
			next = out + "-" + word
		}
		if len(next) > maxSlug {
			if out == "" {
				out = word[:maxSlug]
			}
			break
		}
		out = next
	}
	return out
}

// CheckID validates an ID given by a user or a model: a relative path
// without ".." or hidden parts, so that it always names a file inside the
// notes directory. A trailing ".md" is accepted and dropped.
func CheckID(id string) (string, error) {
	id = strings.TrimSuffix(strings.TrimSpace(id), ".md")
	if id == "" {
		return "", errors.New("empty note ID")
	}
	if strings.ContainsAny(id, "\\\x00\n") || strings.HasPrefix(id, "/") || path.Clean(id) != id {
		return "", fmt.Errorf("bad note ID %q (IDs look like 20261124-deploy-checklist)", id)
	}
	for _, part := range strings.Split(id, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return "", fmt.Errorf("bad note ID %q (IDs look like 20261124-deploy-checklist)", id)
		}
	}
	return id, nil
}

// touchUpdated sets the updated key of a file's front matter to t, keeping
// its other keys, comments and order. ok is false when the file has no
// front matter that is a YAML mapping: it is then left as it is.
func touchUpdated(data []byte, t time.Time) ([]byte, bool) {
	fm, body, has, closed := splitFrontMatter(data)
	if !has || !closed {
		return nil, false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(fm, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false
	}
	m := doc.Content[0]
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: t.UTC().Format(time.RFC3339)}
	found := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "updated" {
			m.Content[i+1] = value
			found = true
		}
	}
	if !found {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "updated"}, value)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false
	}
	enc.Close()
	var out bytes.Buffer
	out.WriteString("---\n")
	out.Write(b.Bytes())
	out.WriteString("---\n\n")
	out.Write(body)
	return out.Bytes(), true
}

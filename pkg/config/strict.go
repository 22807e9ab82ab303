package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The yaml package ignores unknown keys and reports type errors without the
// key, so before decoding, a walker compares the node tree with the Go type
// and turns the first mismatch into an *Error with file, line and dotted key.
// After a clean walk the decode cannot fail on types.

// maxSteps bounds the nodes a walk visits, counting each expansion of an
// alias, so a small file full of nested aliases cannot take forever.
const maxSteps = 100_000

type walker struct {
	file  string
	lines map[string]int // dotted key → line, filled in as keys are met
	steps int
	open  map[*yaml.Node]bool // anchored nodes being walked through an alias
}

func (w *walker) errorf(n *yaml.Node, key, format string, args ...any) *Error {
	return &Error{File: w.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walk checks that n can be decoded into a value of type t; key is n's
// dotted key ("" for the top).
func (w *walker) walk(n *yaml.Node, t reflect.Type, key string) error {
	w.steps++
	if w.steps > maxSteps {
		return w.errorf(n, "", "document too large or too deeply aliased")
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if w.open[target] {
			return w.errorf(n, key, "alias *%s refers to a value that contains it", n.Value)
		}
		if w.open == nil {
			w.open = map[*yaml.Node]bool{}
		}
		w.open[target] = true
		defer delete(w.open, target)
		return w.walk(target, t, key)
	}
	if isNull(n) {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(unmarshalerType):
		return w.tryDecode(n, t, key)
	case pt.Implements(textUnmarshalerType):
		if n.Kind != yaml.ScalarNode {
			return w.errorf(n, key, "expected a single value, got %s", describe(n))
		}
		return w.tryDecode(n, t, key)
	}
	want := ""
	switch t.Kind() {
	case reflect.Struct:
		return w.walkStruct(n, t, key)
	case reflect.Map:
		return w.walkMap(n, t, key)
	case reflect.Slice, reflect.Array:
		return w.walkSeq(n, t, key)
	case reflect.Interface:
		return nil
	case reflect.String:
		if n.Kind == yaml.ScalarNode {
			return w.tryDecode(n, t, key)
		}
		want = "a string"
	case reflect.Bool:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
			return w.tryDecode(n, t, key)
		}
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
			if w.tryDecode(n, t, key) != nil {
				return w.errorf(n, key, "%s is out of range", n.Value)
			}
			return nil
		}
		want = "an integer"
	case reflect.Float32, reflect.Float64:
		if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
			return w.tryDecode(n, t, key)
		}
		want = "a number"
	default:
		return w.tryDecode(n, t, key)
	}
	return w.errorf(n, key, "expected %s, got %s", want, describe(n))
}

// tryDecode decodes n into a throwaway value of type t and reports the
// decoder's complaint, if any, at n.
func (w *walker) tryDecode(n *yaml.Node, t reflect.Type, key string) error {
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		return w.errorf(n, key, "%s", yamlMessage(err))
	}
	return nil
}

func (w *walker) walkStruct(n *yaml.Node, t reflect.Type, key string) error {
	if n.Kind != yaml.MappingNode {
		return w.errorf(n, key, "expected a mapping, got %s", describe(n))
	}
	fields := structFields(t)
	err := w.eachPair(n, t, key, func(k, v *yaml.Node, name string) error {
		i := slices.IndexFunc(fields, func(f field) bool { return f.name == name })
		if i < 0 {
			return &Error{File: w.file, Line: k.Line, Msg: unknownKey(key, name, fields)}
		}
		full := join(key, name)
		w.lines[full] = k.Line
		return w.walk(v, fields[i].typ, full)
	})
	if err != nil {
		return err
	}
	// A key with an empty value keeps its default. The yaml package would
	// instead clear a list or map, so such keys are dropped before decoding.
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isNull(n.Content[i+1]) {
			kept = append(kept, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = kept
	return nil
}

func isNull(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func (w *walker) walkMap(n *yaml.Node, t reflect.Type, key string) error {
	if n.Kind != yaml.MappingNode {
		return w.errorf(n, key, "expected a mapping, got %s", describe(n))
	}
	return w.eachPair(n, t, key, func(k, v *yaml.Node, name string) error {
		if err := w.walk(k, t.Key(), key); err != nil {
			return err
		}
		full := join(key, name)
		w.lines[full] = k.Line
		return w.walk(v, t.Elem(), full)
	})
}

// eachPair calls fn for each key and value of the mapping n, after checking
// that keys are single values and unique, and walks merged mappings ("<<")
// as part of n.
func (w *walker) eachPair(n *yaml.Node, t reflect.Type, key string, fn func(k, v *yaml.Node, name string) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if isMerge(k) {
			if err := w.walkMerge(v, t, key); err != nil {
				return err
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return w.errorf(k, key, "expected a key, got %s", describe(k))
		}
		if line, dup := seen[k.Value]; dup {
			return w.errorf(k, join(key, k.Value), "key appears twice (first on line %d)", line)
		}
		seen[k.Value] = k.Line
		if err := fn(k, v, k.Value); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) walkMerge(v *yaml.Node, t reflect.Type, key string) error {
	merged := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		merged = v.Content
	}
	for _, m := range merged {
		target := m
		if m.Kind == yaml.AliasNode && m.Alias != nil {
			target = m.Alias
		}
		if target.Kind != yaml.MappingNode {
			return w.errorf(m, key, "<< must merge a mapping or a list of mappings, got %s", describe(m))
		}
		if err := w.walk(m, t, key); err != nil {
			return err
		}
	}
	return nil
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

func (w *walker) walkSeq(n *yaml.Node, t reflect.Type, key string) error {
	if n.Kind != yaml.SequenceNode {
		return w.errorf(n, key, "expected a list, got %s", describe(n))
	}
	if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
		return w.errorf(n, key, "expected a list of %d, got %d", t.Len(), len(n.Content))
	}
	for i, e := range n.Content {
		full := fmt.Sprintf("%s[%d]", key, i)
		w.lines[full] = e.Line
		if err := w.walk(e, t.Elem(), full); err != nil {
			return err
		}
	}
	return nil
}

// A field is a struct field as the yaml package sees it.
type field struct {
	name  string
	typ   reflect.Type
	index []int
}

// structFields lists the fields the yaml package decodes into t, in order,
// following its rules: the tag names the key, a missing name is the
// lower-cased field name, "-" is skipped and ",inline" structs are flattened.
func structFields(t reflect.Type) []field {
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				fields = append(fields, sub)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields = append(fields, field{name: name, typ: f.Type, index: []int{i}})
	}
	return fields
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func unknownKey(section, name string, fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "unknown key %q (", join(section, name))
	if s := suggest(name, names); s != "" {
		fmt.Fprintf(&b, "did you mean %q? ", s)
	}
	b.WriteString("known keys")
	if section != "" {
		b.WriteString(" under " + section)
	}
	b.WriteString(": " + strings.Join(names, ", ") + ")")
	return b.String()
}

// suggest returns the name in names closest to a mistyped name, or "" when
// none is close.
func suggest(name string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), n); d < bestDist && d < len(n) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// describe names a node for "got ..." in messages: a quoted string, a bare
// number or boolean, "a mapping" or "a list".
func describe(n *yaml.Node) string {
	for n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias != n {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int", "!!float", "!!bool":
			return n.Value
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	}
	return "nothing"
}

// yamlMessage is the text of an error from the yaml package without its
// "yaml: " and "line N: " prefixes.
func yamlMessage(err error) string {
	msg, _ := yamlLine(err)
	return msg
}

// yamlLine splits an error from the yaml package into its text and the line
// it names, 0 if none.
func yamlLine(err error) (msg string, line int) {
	msg = err.Error()
	if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); found && err == nil {
			return text, n
		}
	}
	return msg, 0
}

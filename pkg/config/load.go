package config

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Path returns the configuration file to read and whether the user named it.
// The --config flag value wins, then $CE_CONFIG, then
// $XDG_CONFIG_HOME/ce/config.yaml, then ~/.config/ce/config.yaml. A relative
// $XDG_CONFIG_HOME is ignored, as the XDG spec says. Path returns "" when no
// home directory is known either.
func Path(flag string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := os.Getenv("CE_CONFIG"); p != "" {
		return p, true
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "ce", "config.yaml"), false
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", false
	}
	return filepath.Join(home, ".config", "ce", "config.yaml"), false
}

// Load reads and checks the file at path, as returned by Path. A missing file
// gives Default(), unless explicit is true: then it is an error. Every error
// is an *Error.
func Load(path string, explicit bool) (*Config, error) {
	if path == "" {
		if explicit {
			return nil, &Error{Msg: "the config file name is empty"}
		}
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return Default(), nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Error{File: path, Msg: "config file not found (create it from config.example.yaml, or fix --config or $CE_CONFIG)"}
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: "cannot read config file: " + err.Error()}
	}
	return Parse(data, path)
}

// Parse decodes a configuration file's contents strictly over the defaults,
// expands a leading ~/ in sessions.default_dir and validates the result.
// filename is used in errors and by Source. An empty document gives the
// defaults. Every error is an *Error.
func Parse(data []byte, filename string) (*Config, error) {
	c := Default()
	c.source = filename
	c.lines = map[string]int{}
	root, err := parseNode(data, filename)
	if err != nil {
		return nil, err
	}
	if root != nil {
		w := &walker{file: filename, lines: c.lines}
		if err := w.walk(root, reflect.TypeOf(c).Elem(), ""); err != nil {
			return nil, err
		}
		if err := root.Decode(c); err != nil {
			msg, line := yamlLine(err)
			return nil, &Error{File: filename, Line: line, Msg: msg}
		}
	}
	dir, err := expandHome(c.Sessions.DefaultDir)
	if err != nil {
		key := "sessions.default_dir"
		return nil, &Error{File: filename, Line: c.lines[key], Key: key, Msg: err.Error()}
	}
	c.Sessions.DefaultDir = dir
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseNode returns the top node of the single YAML document in data, or nil
// when the document is empty.
func parseNode(data []byte, filename string) (*yaml.Node, error) {
	syntax := func(err error) error {
		msg, line := yamlLine(err)
		switch {
		case slices.Contains(parserProblems, msg):
			line++
		case line == 0:
			line = syntaxErrorLine(data, msg)
		}
		return &Error{File: filename, Line: line, Msg: "invalid YAML: " + msg}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF:
		return nil, nil
	case err != nil:
		return nil, syntax(err)
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntax(err)
		}
		if !isEmpty(&next) {
			return nil, &Error{File: filename, Line: next.Content[0].Line, Msg: "a config file holds one YAML document, found a second"}
		}
	}
	if isEmpty(&doc) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// parserProblems are the messages of the yaml package's parser, as opposed
// to its scanner. It numbers lines from 0 in these, and from 1 in the others.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxErrorLine finds the line of a scanner error the yaml package reported
// without one: it takes line 0 as unknown, so a problem on line 1 comes
// without a line. An unknown anchor has no line either; its first use is
// found here.
func syntaxErrorLine(data []byte, msg string) int {
	name, ok := strings.CutPrefix(msg, "unknown anchor '")
	if !ok {
		return 1
	}
	name = strings.TrimSuffix(name, "' referenced")
	for i, l := range strings.Split(string(data), "\n") {
		for rest := l; ; {
			j := strings.Index(rest, "*"+name)
			if j < 0 {
				break
			}
			rest = rest[j+1+len(name):]
			if rest == "" || strings.ContainsAny(rest[:1], " \t\r,[]{}") {
				return i + 1
			}
		}
	}
	return 0
}

func isEmpty(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// expandHome replaces a leading ~ or ~/ in path with the home directory.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("cannot expand ~: " + err.Error())
	}
	return filepath.Join(home, path[1:]), nil
}

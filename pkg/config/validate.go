package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Validate checks that every value is in range. The error is the first
// problem found, as an *Error that carries the file and line when c came from
// a file.
func (c *Config) Validate() error {
	v := &validator{c: c}
	c.eachSection(func(name string, s any) {
		if s, ok := s.(interface{ validate(*validator) }); ok {
			v.prefix = name
			s.validate(v)
		}
	})
	if v.err != nil {
		return v.err
	}
	return nil
}

// validator collects the first validation error of a Config. Sections name
// keys relative to themselves; prefix makes them full dotted keys.
type validator struct {
	c      *Config
	prefix string
	err    *Error
}

func (v *validator) fail(key, format string, args ...any) {
	if v.err != nil {
		return
	}
	full := v.prefix + "." + key
	switch {
	case key == "":
		full = v.prefix
	case strings.HasPrefix(key, "["):
		full = v.prefix + key
	}
	// A missing key has no line: point at the nearest enclosing one.
	line := 0
	for k := full; line == 0 && k != ""; {
		line = v.c.lines[k]
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	v.err = &Error{File: v.c.source, Line: line, Key: full, Msg: fmt.Sprintf(format, args...)}
}

func (v *validator) atLeast(key string, got, least int) {
	switch {
	case got >= least:
	case least == 0:
		v.fail(key, "must not be negative, got %d", got)
	default:
		v.fail(key, "must be at least %d, got %d", least, got)
	}
}

func (v *validator) durationAtLeast(key string, got, least Duration) {
	switch {
	case got >= least:
	case least == 0:
		v.fail(key, "must not be negative, got %s", got)
	case least == 1:
		v.fail(key, "must be greater than 0s, got %s", got)
	default:
		v.fail(key, "must be at least %s, got %s", least, got)
	}
}

// oneOf checks that got is in allowed; what names the kind of value and
// extra ends the list of choices in the message.
func (v *validator) oneOf(key, what, got string, allowed []string, extra string) {
	if slices.Contains(allowed, got) {
		return
	}
	choices := strings.Join(allowed, ", ")
	if extra != "" {
		choices += ", " + extra
	}
	v.fail(key, "unknown %s %q (use one of %s)", what, got, choices)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

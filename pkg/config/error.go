package config

import (
	"fmt"
	"strings"
)

// Error is a problem with the configuration. Load and Parse return only
// *Error, so a caller can tell a configuration error (exit status 2) from
// other failures with errors.As.
type Error struct {
	File string // the file, or "" when unknown
	Line int    // 1-based line in File, or 0 when unknown
	Key  string // the full dotted key, e.g. "sessions.max_per_user"; "" when the error is not about one known key
	Msg  string
}

// Error formats e as "file:line: key: msg", leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

package streamjson

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ToolLineMax is the longest line, in characters, that ToolLine returns.
const ToolLineMax = 100

// toolArg names the input field that best says what a built-in tool does.
var toolArg = map[string]string{
	"Bash":         "command",
	"Read":         "file_path",
	"Write":        "file_path",
	"Edit":         "file_path",
	"MultiEdit":    "file_path",
	"NotebookEdit": "notebook_path",
	"Glob":         "pattern",
	"Grep":         "pattern",
	"WebFetch":     "url",
	"WebSearch":    "query",
	"Task":         "description",
	"Agent":        "description",
	"Skill":        "skill",
	"ToolSearch":   "query",
}

// ToolLine summarises a tool_use block for people in one line of at most
// ToolLineMax characters: "▸ Bash: ls -la" for built-in tools with an
// obvious argument, "▸ name {compact input}" otherwise. It returns "" for
// other blocks.
func ToolLine(b Block) string {
	if b.Type != "tool_use" {
		return ""
	}
	name := oneLine(b.Name)
	if name == "" {
		name = "?"
	}
	line := "▸ " + name
	if key, ok := toolArg[b.Name]; ok {
		var in map[string]json.RawMessage
		if json.Unmarshal(b.Input, &in) == nil {
			if s := oneLine(rawString(in[key])); s != "" {
				return truncate(line+": "+s, ToolLineMax)
			}
		}
	}
	var buf bytes.Buffer
	if len(b.Input) > 0 && json.Compact(&buf, b.Input) == nil {
		if s := oneLine(buf.String()); s != "" && s != "{}" && s != "null" {
			line += " " + s
		}
	}
	return truncate(line, ToolLineMax)
}

// oneLine folds runs of white space (newlines included) into one space and
// drops other control characters.
func oneLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == utf8.RuneError:
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// truncate cuts s to at most n characters, marking a cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return strings.TrimRightFunc(string(rs[:n-1]), unicode.IsSpace) + "…"
}

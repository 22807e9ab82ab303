// Package render turns claude's stream-json events into what people read:
// the assistant's text, one compact line per tool use, a line per denied
// tool, and a footer with the run's turns, time and cost. The tmux pane of
// a session, ce-session send --stream, ce-session tail and the Telegram
// frontend all render through it, one function per event kind, so a run
// reads the same everywhere. Rendering gives plain text; where it goes to a
// terminal, Printer escapes what could drive the terminal.
//
// The wording is for people and may change; scripts use --json.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/text"
)

// Kind says what a Piece is, so that a frontend can place it: text on
// stdout and tool lines on stderr for send --stream, say.
type Kind int

// Kinds of pieces.
const (
	Text   Kind = iota // the assistant's text
	Tool               // a tool use, one line
	Denied             // a tool claude was not allowed to use, one line
	Footer             // the end of a run: outcome, turns, time, cost
)

// Piece is one rendered part of an event.
type Piece struct {
	Kind Kind
	Text string
}

// ToolLineMax is the longest tool line, in characters.
const ToolLineMax = 100

// Event renders one event; events people need not see render to nothing.
func Event(ev streamjson.Event) []Piece {
	switch ev.Type {
	case streamjson.TypeAssistant:
		return Assistant(ev.AssistantBlocks())
	case streamjson.TypeSystem:
		if ev.Subtype == streamjson.SubtypePermissionDenied {
			return []Piece{PermissionDenied(ev)}
		}
	case streamjson.TypeResult:
		if r, ok := ev.Result(); ok {
			return []Piece{Result(r)}
		}
	}
	return nil
}

// Assistant renders an assistant message: its text blocks and its tool
// uses, in order; thinking is left out.
func Assistant(blocks []streamjson.Block) []Piece {
	var out []Piece
	for _, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text != "" {
				out = append(out, Piece{Text, b.Text})
			}
		case "tool_use":
			out = append(out, Piece{Tool, ToolLine(b)})
		}
	}
	return out
}

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

// ToolLine is a tool use in one line of at most ToolLineMax characters:
// "▸ Bash: ls -la" for a built-in tool with an obvious argument, "▸ name
// {compact input}" otherwise; "" for a block that is not a tool use.
func ToolLine(b streamjson.Block) string {
	if b.Type != "tool_use" {
		return ""
	}
	return ToolCall(b.Name, b.Input)
}

// ToolCall is ToolLine for a tool name and its input, as a permission
// request carries them.
func ToolCall(name string, input json.RawMessage) string {
	shown := text.Line(name, 0)
	if shown == "" {
		shown = "?"
	}
	line := "▸ " + shown
	if key, ok := toolArg[name]; ok {
		var in map[string]any
		if json.Unmarshal(input, &in) == nil {
			if s, _ := in[key].(string); text.Line(s, 0) != "" {
				return text.Truncate(line+": "+text.Line(s, 0), ToolLineMax)
			}
		}
	}
	var buf bytes.Buffer
	if len(input) > 0 && json.Compact(&buf, input) == nil {
		if s := text.Line(buf.String(), 0); s != "" && s != "{}" && s != "null" {
			line += " " + s
		}
	}
	return text.Truncate(line, ToolLineMax)
}

// PermissionDenied renders a system/permission_denied event.
func PermissionDenied(ev streamjson.Event) Piece {
	var w struct {
		ToolName string `json:"tool_name"`
		Message  string `json:"message"`
	}
	_ = json.Unmarshal(ev.Raw, &w)
	line := "✗ denied: " + text.Line(w.ToolName, 0)
	if m := text.Line(w.Message, 0); m != "" {
		line += ": " + m
	}
	return Piece{Denied, text.Truncate(line, ToolLineMax)}
}

// Result renders the end of a run: "── done: 2 turns, 1.2s, $0.0042", or
// "── error: <why> (2 turns, 1.2s, $0.0042)" for a failed one.
func Result(r *streamjson.Result) Piece {
	figures := Figures(r.NumTurns, r.DurationMS, r.CostUSD)
	if r.IsError {
		return Piece{Footer, "── error: " + text.Line(r.ErrorText(), 200) + " (" + figures + ")"}
	}
	return Piece{Footer, "── done: " + figures}
}

// Figures is "2 turns, 1.2s, $0.0042".
func Figures(turns int, durationMS int64, costUSD float64) string {
	unit := "turns"
	if turns == 1 {
		unit = "turn"
	}
	return fmt.Sprintf("%d %s, %.1fs, $%.4f", turns, unit, float64(durationMS)/1000, costUSD)
}

// Printer prints rendered events on writers for people, escaping text a
// model wrote (text.Safe). Pieces of a kind with no writer are dropped.
type Printer struct {
	Text, Tools, Footer io.Writer
}

// Line renders and prints one stream-json line; lines that are not events
// are skipped.
func (p *Printer) Line(line []byte) error {
	ev, err := streamjson.Parse(line)
	if err != nil {
		return nil
	}
	for _, pc := range Event(ev) {
		w := p.Text
		switch pc.Kind {
		case Tool, Denied:
			w = p.Tools
		case Footer:
			w = p.Footer
		}
		if w == nil {
			continue
		}
		if _, err := io.WriteString(w, text.Safe(pc.Text)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

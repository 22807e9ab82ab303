// Package streamjson is the event model of the Claude Code CLI's stream-json
// output (claude -p --output-format stream-json --verbose): one JSON object per
// line, told apart by "type" and "subtype".
//
// The package is a contract: other programs may rely on Parse, the typed
// accessors and the helpers that classify results (LimitReset, IsAuthError).
// It follows claude, not the other way round: new event types and fields appear
// between claude versions, so Parse keeps every line it can read as JSON, and an
// accessor that meets a field of an unexpected shape leaves that field zero
// instead of failing. Only text that is not a JSON object is an error.
package streamjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// Event types and subtypes claude emits. Other values occur and are kept.
const (
	TypeSystem      = "system"
	TypeAssistant   = "assistant"
	TypeUser        = "user"
	TypeResult      = "result"
	TypeStreamEvent = "stream_event"
	TypeRateLimit   = "rate_limit_event"

	SubtypeInit             = "init"
	SubtypeStatus           = "status"
	SubtypePermissionDenied = "permission_denied"
)

// Event is one line of stream-json output. Raw holds the whole line (without
// surrounding white space), unknown fields included; the accessors decode
// from it on demand.
type Event struct {
	Type      string
	Subtype   string
	SessionID string
	Raw       json.RawMessage
}

// ErrNotObject is returned by Parse for a line that is valid JSON but not an
// object.
var ErrNotObject = errors.New("streamjson: line is not a JSON object")

// Parse reads one line of stream-json output. It fails only if the line is
// not a JSON object; unknown types and fields are kept in Raw. Type, Subtype
// and SessionID are empty when absent or not strings. The line is copied, so
// the caller may reuse its buffer.
func Parse(line []byte) (Event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return Event{}, errors.New("streamjson: empty line")
	}
	var head struct {
		Type      json.RawMessage `json:"type"`
		Subtype   json.RawMessage `json:"subtype"`
		SessionID json.RawMessage `json:"session_id"`
	}
	if line[0] != '{' {
		if !json.Valid(line) {
			return Event{}, errors.New("streamjson: invalid JSON")
		}
		return Event{}, ErrNotObject
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return Event{}, errors.New("streamjson: invalid JSON: " + err.Error())
	}
	return Event{
		Type:      rawString(head.Type),
		Subtype:   rawString(head.Subtype),
		SessionID: rawString(head.SessionID),
		Raw:       bytes.Clone(line),
	}, nil
}

// decode fills v from the event's line as far as the shapes agree. Type
// mismatches leave the affected fields zero; encoding/json still fills the
// rest, which is the tolerance this package promises.
func (e Event) decode(v any) {
	_ = json.Unmarshal(e.Raw, v)
}

// Init is the system/init event that starts every run.
type Init struct {
	SessionID         string
	CWD               string
	Model             string
	Tools             []string
	MCPServers        []MCPServer
	PermissionMode    string
	ClaudeCodeVersion string
}

// MCPServer is one entry of Init.MCPServers; Status is e.g. "connected" or
// "failed".
type MCPServer struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Init returns the system/init event's contents.
func (e Event) Init() (*Init, bool) {
	if e.Type != TypeSystem || e.Subtype != SubtypeInit {
		return nil, false
	}
	var w struct {
		SessionID         string      `json:"session_id"`
		CWD               string      `json:"cwd"`
		Model             string      `json:"model"`
		Tools             []string    `json:"tools"`
		MCPServers        []MCPServer `json:"mcp_servers"`
		PermissionMode    string      `json:"permissionMode"`
		ClaudeCodeVersion string      `json:"claude_code_version"`
	}
	e.decode(&w)
	return &Init{
		SessionID:         w.SessionID,
		CWD:               w.CWD,
		Model:             w.Model,
		Tools:             w.Tools,
		MCPServers:        w.MCPServers,
		PermissionMode:    w.PermissionMode,
		ClaudeCodeVersion: w.ClaudeCodeVersion,
	}, true
}

// Block is one content block of an assistant message.
type Block struct {
	// Type is "text", "tool_use", "thinking" or any other block type claude
	// sends.
	Type string
	// Text is the text of a text block or the reasoning of a thinking block.
	Text string
	// ID, Name and Input describe a tool_use block; Input is the tool's
	// input as sent.
	ID    string
	Name  string
	Input json.RawMessage
	// Raw is the whole block.
	Raw json.RawMessage
}

// AssistantBlocks returns the content blocks of an assistant event, nil for
// any other event.
func (e Event) AssistantBlocks() []Block {
	if e.Type != TypeAssistant {
		return nil
	}
	var w struct {
		Message struct {
			Content []json.RawMessage `json:"content"`
		} `json:"message"`
	}
	e.decode(&w)
	blocks := make([]Block, 0, len(w.Message.Content))
	for _, raw := range w.Message.Content {
		var b struct {
			Type     json.RawMessage `json:"type"`
			Text     json.RawMessage `json:"text"`
			Thinking json.RawMessage `json:"thinking"`
			ID       json.RawMessage `json:"id"`
			Name     json.RawMessage `json:"name"`
			Input    json.RawMessage `json:"input"`
		}
		if json.Unmarshal(raw, &b) != nil {
			continue // not an object
		}
		blk := Block{
			Type: rawString(b.Type),
			ID:   rawString(b.ID),
			Name: rawString(b.Name),
			Raw:  raw,
		}
		if len(b.Input) > 0 {
			blk.Input = b.Input
		}
		if blk.Type == "thinking" {
			blk.Text = rawString(b.Thinking)
		} else {
			blk.Text = rawString(b.Text)
		}
		blocks = append(blocks, blk)
	}
	return blocks
}

// PartialText returns the text of a stream_event carrying a text_delta
// (claude run with --include-partial-messages).
func (e Event) PartialText() (string, bool) {
	if e.Type != TypeStreamEvent {
		return "", false
	}
	var w struct {
		Event struct {
			Type  string `json:"type"`
			Delta struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"delta"`
		} `json:"event"`
	}
	e.decode(&w)
	if w.Event.Type != "content_block_delta" || w.Event.Delta.Type != "text_delta" {
		return "", false
	}
	return w.Event.Delta.Text, true
}

// RateLimit is the rate_limit_info of a rate_limit_event, sent for
// subscription logins.
type RateLimit struct {
	// Status is "allowed", "allowed_warning" or "rejected".
	Status string
	// ResetsAt is when the window resets; zero if not given.
	ResetsAt time.Time
	// Type is the window, e.g. "five_hour" or "seven_day" (rateLimitType).
	Type string
	// Utilization is the used fraction of the window, 0 to 1, if given.
	Utilization    *float64
	OverageStatus  string
	IsUsingOverage bool
}

// RateLimit returns the contents of a rate_limit_event. Field names are
// matched loosely (resetsAt, resets_at and ResetsAt are the same), and a
// reset time may be Unix seconds, Unix milliseconds or an RFC 3339 string.
func (e Event) RateLimit() (*RateLimit, bool) {
	if e.Type != TypeRateLimit {
		return nil, false
	}
	var w struct {
		Info json.RawMessage `json:"rate_limit_info"`
	}
	e.decode(&w)
	fields := map[string]json.RawMessage{}
	var info map[string]json.RawMessage
	if json.Unmarshal(w.Info, &info) == nil {
		for k, v := range info {
			fields[looseKey(k)] = v
		}
	}
	rl := &RateLimit{
		Status:        rawString(fields["status"]),
		Type:          rawString(fields["ratelimittype"]),
		OverageStatus: rawString(fields["overagestatus"]),
	}
	_ = json.Unmarshal(fields["isusingoverage"], &rl.IsUsingOverage)
	rl.ResetsAt = rawTime(fields["resetsat"])
	if rl.Type == "" {
		rl.Type = rawString(fields["type"])
	}
	if u, ok := rawFloat(fields["utilization"]); ok {
		rl.Utilization = &u
	} else {
		for _, k := range []string{"utilizationpercent", "utilizationpct", "percentused"} {
			if u, ok := rawFloat(fields[k]); ok {
				u /= 100
				rl.Utilization = &u
				break
			}
		}
	}
	return rl, true
}

// looseKey folds a field name so that camelCase, snake_case and case
// variants compare equal.
func looseKey(k string) string {
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// rawString returns raw as a string if it is a JSON string, else "".
func rawString(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// rawFloat reads a JSON number, or a string holding one.
func rawFloat(raw json.RawMessage) (float64, bool) {
	var f float64
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var n json.Number
	if s := rawString(raw); s != "" && json.Unmarshal([]byte(s), &n) == nil {
		if f, err := n.Float64(); err == nil {
			return f, true
		}
	}
	return 0, false
}

// rawTime reads Unix seconds, Unix milliseconds (values past the year 5138
// in seconds are taken as milliseconds) or an RFC 3339 string.
func rawTime(raw json.RawMessage) time.Time {
	if f, ok := rawFloat(raw); ok {
		if f <= 0 || f > 1e15 {
			return time.Time{}
		}
		if f > 1e11 {
			return time.UnixMilli(int64(f))
		}
		return time.Unix(int64(f), 0)
	}
	if s := rawString(raw); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

package fakeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// Request is one recorded HTTP request, with the Messages API body decoded
// where there was one. Body always holds the raw bytes, so a test can assert
// on fields this type does not model.
type Request struct {
	Method string
	Path   string // URL path without the query, e.g. "/v1/messages"
	Query  string // raw query, e.g. "beta=true"
	Header http.Header

	Model     string
	System    string // text of all system blocks, joined by "\n"
	Messages  []Message
	Tools     []Tool
	Stream    bool
	MaxTokens int
	Thinking  string // thinking.type: "adaptive", "enabled", "disabled" or ""
	Body      []byte

	// Turn is true when the request was taken for a conversation turn:
	// it consumed a scripted reply or got the default echo as one.
	Turn bool
}

// Message is one entry of a request's messages array. String content is
// normalised to a single text block so callers handle one shape.
type Message struct {
	Role    string  `json:"role"`
	Content []Block `json:"content"`
}

// Block is a content block. Only the fields of the block types claude sends
// (text, tool_use, tool_result) are modelled; the rest stays in Request.Body.
type Block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"` // tool_result: a string or an array of blocks
	IsError   bool            `json:"is_error,omitempty"`
}

// Tool is one entry of a request's tools array.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// UnmarshalJSON accepts content as a string or as an array of blocks.
func (m *Message) UnmarshalJSON(b []byte) error {
	var raw struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	m.Role = raw.Role
	m.Content = nil
	c := bytes.TrimSpace(raw.Content)
	if len(c) == 0 || bytes.Equal(c, []byte("null")) {
		return nil
	}
	if c[0] == '"' {
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return err
		}
		m.Content = []Block{{Type: "text", Text: s}}
		return nil
	}
	return json.Unmarshal(c, &m.Content)
}

// ResultText is a tool_result block's content as text: a string content as
// is, anything else as compact JSON.
func (b Block) ResultText() string {
	c := bytes.TrimSpace(b.Content)
	if len(c) == 0 {
		return ""
	}
	var s string
	if c[0] == '"' && json.Unmarshal(c, &s) == nil {
		return s
	}
	var out bytes.Buffer
	if json.Compact(&out, c) != nil {
		return string(c)
	}
	return out.String()
}

// LastUser returns the last message with role user. claude may put other
// roles (an environment "system" message) after it.
func (r Request) LastUser() (Message, bool) {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i], true
		}
	}
	return Message{}, false
}

// LastUserText is the text the user typed last: the last text block of the
// last user message that is not a <system-reminder> claude injected.
func (r Request) LastUserText() string {
	m, ok := r.LastUser()
	if !ok {
		return ""
	}
	for i := len(m.Content) - 1; i >= 0; i-- {
		b := m.Content[i]
		if b.Type == "text" && !strings.HasPrefix(strings.TrimSpace(b.Text), "<system-reminder>") {
			return b.Text
		}
	}
	return ""
}

// ToolResult returns the first tool_result block of the last user message,
// which is how claude answers a tool_use.
func (r Request) ToolResult() (Block, bool) {
	m, ok := r.LastUser()
	if !ok {
		return Block{}, false
	}
	for _, b := range m.Content {
		if b.Type == "tool_result" {
			return b, true
		}
	}
	return Block{}, false
}

// HasText reports whether any text block of any message contains s; handy
// for "the resumed turn carries the first turn" assertions.
func (r Request) HasText(s string) bool {
	for _, m := range r.Messages {
		for _, b := range m.Content {
			if strings.Contains(b.Text, s) {
				return true
			}
		}
	}
	return false
}

// decodeBody fills the Messages API fields from a JSON body; a body that is
// not a JSON object leaves them empty, as a side request may have none.
func (r *Request) decodeBody() {
	var body struct {
		Model     string          `json:"model"`
		System    json.RawMessage `json:"system"`
		Messages  json.RawMessage `json:"messages"`
		Tools     []Tool          `json:"tools"`
		Stream    bool            `json:"stream"`
		MaxTokens int             `json:"max_tokens"`
		Thinking  struct {
			Type string `json:"type"`
		} `json:"thinking"`
	}
	if len(bytes.TrimSpace(r.Body)) == 0 || json.Unmarshal(r.Body, &body) != nil {
		return
	}
	r.Model = body.Model
	_ = json.Unmarshal(body.Messages, &r.Messages)
	r.Tools = body.Tools
	r.Stream = body.Stream
	r.MaxTokens = body.MaxTokens
	r.Thinking = body.Thinking.Type
	r.System = systemText(body.System)
}

// systemText flattens the system field, which may be a string or an array of
// text blocks.
func systemText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []Block
	if json.Unmarshal(raw, &blocks) != nil {
		return ""
	}
	parts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		parts = append(parts, b.Text)
	}
	return strings.Join(parts, "\n")
}

package fakeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// message is one assistant answer, rendered either whole (non-streaming
// side requests) or as the SSE event sequence of the streaming API.
type message struct {
	id        string
	model     string
	text      string
	chunks    int
	tool      *ToolUse
	toolInput json.RawMessage
	inTokens  int
	outTokens int
}

func newMessage(req *Request, rp Reply) (*message, error) {
	m := &message{
		id:        newID("msg_"),
		model:     req.Model,
		text:      rp.Text,
		chunks:    max(rp.Chunks, 1),
		inTokens:  rp.InputTokens,
		outTokens: rp.OutputTokens,
	}
	if m.model == "" {
		m.model = "claude-opus-5-5"
	}
	if rp.ToolUse != nil {
		t := *rp.ToolUse
		if t.ID == "" {
			t.ID = newID("toolu_")
		}
		m.tool = &t
		in := t.Input
		if in == nil {
			in = map[string]any{}
		}
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("fakeapi: tool_use input: %w", err)
		}
		m.toolInput = raw
	}
	if m.inTokens == 0 {
		m.inTokens = estimateTokens(req)
	}
	if m.outTokens == 0 {
		m.outTokens = max((len(m.text)+len(m.toolInput)+3)/4, 1)
	}
	return m, nil
}

// estimateTokens counts about four bytes of prompt text per token, which is
// near enough for cost and context figures to look plausible.
func estimateTokens(req *Request) int {
	n := len(req.System)
	for _, msg := range req.Messages {
		for _, b := range msg.Content {
			n += len(b.Text) + len(b.Input) + len(b.Content)
		}
	}
	return max(n/4, 1)
}

func (m *message) stopReason() string {
	if m.tool != nil {
		return "tool_use"
	}
	return "end_turn"
}

func (m *message) content() []map[string]any {
	var blocks []map[string]any
	if m.text != "" {
		blocks = append(blocks, map[string]any{"type": "text", "text": m.text})
	}
	if m.tool != nil {
		blocks = append(blocks, map[string]any{
			"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name, "input": m.toolInput,
		})
	}
	return blocks
}

// final is the non-streaming response body.
func (m *message) final() map[string]any {
	return map[string]any{
		"id":            m.id,
		"type":          "message",
		"role":          "assistant",
		"model":         m.model,
		"content":       m.content(),
		"stop_reason":   m.stopReason(),
		"stop_sequence": nil,
		"usage": map[string]any{
			"input_tokens":                m.inTokens,
			"cache_creation_input_tokens": 0,
			"cache_read_input_tokens":     0,
			"output_tokens":               m.outTokens,
		},
	}
}

// stream writes the SSE events of the streaming API, pausing rp.ChunkDelay
// between them; it gives up quietly when the client or server goes away.
func (m *message) stream(ctx context.Context, w http.ResponseWriter, rp Reply) {
	flusher, _ := w.(http.Flusher)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)

	first := true
	send := func(typ string, data map[string]any) bool {
		if !first && !sleep(ctx, rp.ChunkDelay) {
			return false
		}
		first = false
		data["type"] = typ
		b, err := json.Marshal(data)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}

	ok := send("message_start", map[string]any{"message": map[string]any{
		"id":            m.id,
		"type":          "message",
		"role":          "assistant",
		"model":         m.model,
		"content":       []any{},
		"stop_reason":   nil,
		"stop_sequence": nil,
		"usage": map[string]any{
			"input_tokens":                m.inTokens,
			"cache_creation_input_tokens": 0,
			"cache_read_input_tokens":     0,
			"output_tokens":               1,
		},
	}}) && send("ping", map[string]any{})
	index := 0
	if ok && m.text != "" {
		ok = send("content_block_start", map[string]any{
			"index": index, "content_block": map[string]any{"type": "text", "text": ""},
		})
		for _, part := range split(m.text, m.chunks) {
			ok = ok && send("content_block_delta", map[string]any{
				"index": index, "delta": map[string]any{"type": "text_delta", "text": part},
			})
		}
		ok = ok && send("content_block_stop", map[string]any{"index": index})
		index++
	}
	if ok && m.tool != nil {
		ok = send("content_block_start", map[string]any{
			"index": index,
			"content_block": map[string]any{
				"type": "tool_use", "id": m.tool.ID, "name": m.tool.Name, "input": map[string]any{},
			},
		}) && send("content_block_delta", map[string]any{
			"index": index, "delta": map[string]any{"type": "input_json_delta", "partial_json": string(m.toolInput)},
		}) && send("content_block_stop", map[string]any{"index": index})
	}
	_ = ok && send("message_delta", map[string]any{
		"delta": map[string]any{"stop_reason": m.stopReason(), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": m.outTokens},
	}) && send("message_stop", map[string]any{})
}

// split cuts s into n pieces of about equal length, never inside a UTF-8
// sequence; fewer pieces come back when s has fewer runes than n.
func split(s string, n int) []string {
	r := []rune(s)
	if n <= 1 || len(r) <= 1 {
		return []string{s}
	}
	n = min(n, len(r))
	parts := make([]string, 0, n)
	for i := range n {
		parts = append(parts, string(r[i*len(r)/n:(i+1)*len(r)/n]))
	}
	return parts
}

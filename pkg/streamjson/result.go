package streamjson

import (
	"encoding/json"
	"strings"
)

// Result is the result event that ends every run, successful or not.
type Result struct {
	// Subtype is "success", "error_max_turns", "error_during_execution" and
	// so on. An API error still says "success": check IsError.
	Subtype string
	IsError bool
	// Text is the final answer, or the error message (the "result" field).
	Text              string
	SessionID         string
	CostUSD           float64 // total_cost_usd
	DurationMS        int64
	DurationAPIMS     int64
	NumTurns          int
	Usage             Usage
	PermissionDenials []Denial
	// APIErrorStatus is the HTTP status of a failed API call, 0 if none.
	APIErrorStatus int
	// Errors holds the messages of the "errors" field (e.g. for
	// error_max_turns).
	Errors         []string
	TerminalReason string // e.g. "completed", "max_turns", "api_error"
	StopReason     string // e.g. "end_turn", "tool_use"
}

// Usage counts the tokens of a run.
type Usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// ErrorText says why a failed result failed, for people: its text, else
// its error messages, else its subtype ("error_max_turns").
func (r *Result) ErrorText() string {
	switch {
	case r == nil:
		return ""
	case r.Text != "":
		return r.Text
	case len(r.Errors) > 0:
		return strings.Join(r.Errors, "; ")
	}
	return r.Subtype
}

// Denial is a tool use that claude was not allowed to run.
type Denial struct {
	ToolName  string
	ToolUseID string
}

// Result returns the contents of a result event.
func (e Event) Result() (*Result, bool) {
	if e.Type != TypeResult {
		return nil, false
	}
	var w struct {
		Subtype        json.RawMessage `json:"subtype"`
		IsError        json.RawMessage `json:"is_error"`
		Result         json.RawMessage `json:"result"`
		SessionID      json.RawMessage `json:"session_id"`
		TotalCostUSD   json.RawMessage `json:"total_cost_usd"`
		DurationMS     json.RawMessage `json:"duration_ms"`
		DurationAPIMS  json.RawMessage `json:"duration_api_ms"`
		NumTurns       json.RawMessage `json:"num_turns"`
		APIErrorStatus json.RawMessage `json:"api_error_status"`
		TerminalReason json.RawMessage `json:"terminal_reason"`
		StopReason     json.RawMessage `json:"stop_reason"`
		Errors         json.RawMessage `json:"errors"`
		Usage          struct {
			InputTokens              json.RawMessage `json:"input_tokens"`
			OutputTokens             json.RawMessage `json:"output_tokens"`
			CacheCreationInputTokens json.RawMessage `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     json.RawMessage `json:"cache_read_input_tokens"`
		} `json:"usage"`
		PermissionDenials []struct {
			ToolName  json.RawMessage `json:"tool_name"`
			ToolUseID json.RawMessage `json:"tool_use_id"`
		} `json:"permission_denials"`
	}
	e.decode(&w)
	r := &Result{
		Subtype:        rawString(w.Subtype),
		Text:           rawString(w.Result),
		SessionID:      rawString(w.SessionID),
		TerminalReason: rawString(w.TerminalReason),
		StopReason:     rawString(w.StopReason),
		DurationMS:     rawInt(w.DurationMS),
		DurationAPIMS:  rawInt(w.DurationAPIMS),
		NumTurns:       int(rawInt(w.NumTurns)),
		APIErrorStatus: int(rawInt(w.APIErrorStatus)),
		Usage: Usage{
			InputTokens:              rawInt(w.Usage.InputTokens),
			OutputTokens:             rawInt(w.Usage.OutputTokens),
			CacheCreationInputTokens: rawInt(w.Usage.CacheCreationInputTokens),
			CacheReadInputTokens:     rawInt(w.Usage.CacheReadInputTokens),
		},
		Errors: rawMessages(w.Errors),
	}
	r.CostUSD, _ = rawFloat(w.TotalCostUSD)
	_ = json.Unmarshal(w.IsError, &r.IsError)
	if r.SessionID == "" {
		r.SessionID = e.SessionID
	}
	for _, d := range w.PermissionDenials {
		r.PermissionDenials = append(r.PermissionDenials, Denial{
			ToolName:  rawString(d.ToolName),
			ToolUseID: rawString(d.ToolUseID),
		})
	}
	return r, true
}

// rawInt reads a JSON number (or a string holding one) as an integer,
// truncating fractions; 0 if absent or unreadable.
func rawInt(raw json.RawMessage) int64 {
	f, ok := rawFloat(raw)
	if !ok || f != f || f > 1<<62 || f < -(1<<62) {
		return 0
	}
	return int64(f)
}

// rawMessages reads an error list whose entries may be strings or objects
// with a "message"; anything else is kept as its JSON text. A lone string
// is a list of one.
func rawMessages(raw json.RawMessage) []string {
	if s := rawString(raw); s != "" {
		return []string{s}
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		if s := rawString(it); s != "" {
			out = append(out, s)
			continue
		}
		var obj struct {
			Message json.RawMessage `json:"message"`
			Error   json.RawMessage `json:"error"`
		}
		if json.Unmarshal(it, &obj) == nil {
			if s := rawString(obj.Message); s != "" {
				out = append(out, s)
				continue
			}
			if s := rawString(obj.Error); s != "" {
				out = append(out, s)
				continue
			}
		}
		if s := strings.TrimSpace(string(it)); s != "" && s != "null" {
			out = append(out, s)
		}
	}
	return out
}

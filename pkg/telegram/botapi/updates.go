package botapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// UpdatesRequest is a getUpdates call.
type UpdatesRequest struct {
	// Offset confirms every update below it. 0 asks for all pending
	// updates; a negative offset, which drops pending updates, is refused.
	Offset         int64
	Limit          int           // 1-100, 100 when 0
	Timeout        time.Duration // long poll; whole seconds, 0 for a short poll
	AllowedUpdates []string      // nil keeps the previous setting
}

// GetUpdates calls getUpdates and returns the updates undecoded, so they
// can be journaled byte for byte before they are handled. The request
// gets a deadline of the poll timeout plus a margin.
func (c *Client) GetUpdates(ctx context.Context, r UpdatesRequest) ([]json.RawMessage, error) {
	const method = "getUpdates"
	if r.Offset < 0 {
		return nil, &Error{Method: method, Kind: Other, Description: "refusing a negative offset, which drops pending updates"}
	}
	body := struct {
		Offset         int64    `json:"offset,omitempty"`
		Limit          int      `json:"limit,omitempty"`
		Timeout        int      `json:"timeout"`
		AllowedUpdates []string `json:"allowed_updates,omitempty"`
	}{r.Offset, r.Limit, int(r.Timeout / time.Second), r.AllowedUpdates}
	if r.AllowedUpdates != nil && len(r.AllowedUpdates) == 0 {
		body.AllowedUpdates = nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, wrap(method, c.token, err)
	}
	ctx, cancel := c.ctx(ctx, r.Timeout+pollMargin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/bot"+c.token+"/"+method, bytes.NewReader(b))
	if err != nil {
		return nil, wrap(method, c.token, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, wrap(method, c.token, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, wrap(method, c.token, fmt.Errorf("error read response body: %w", err))
	}
	var ans struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		desc := fmt.Sprintf("answer is not Bot API JSON (HTTP %d)", resp.StatusCode)
		kind := Server
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusOK {
			kind = kindOf(resp.StatusCode, "")
		}
		return nil, &Error{Method: method, Kind: kind, Code: resp.StatusCode, Description: desc}
	}
	if !ans.OK {
		code := ans.ErrorCode
		if code == 0 {
			code = resp.StatusCode
		}
		return nil, apiError(method, code, ans.Description, ans.Parameters.RetryAfter)
	}
	return ans.Result, nil
}

package streamjson

import "time"

// MaxSummaryText bounds the final text a Summary keeps.
const MaxSummaryText = 64 << 10

// Summary is what a run's stream said, collected line by line as it is read
// (Observe), so that whoever records the run needs only this, never the
// stream again. Its JSON is part of a run's exit file.
type Summary struct {
	// SessionID is claude's conversation, from system/init or the result.
	SessionID string `json:"session_id,omitempty"`
	// Result is true once a result event was seen; the fields below it
	// come from the last one.
	Result  bool   `json:"result"`
	Subtype string `json:"subtype,omitempty"`
	IsError bool   `json:"is_error,omitempty"`
	// Text is the final answer (cut to MaxSummaryText bytes); Error says
	// why a failed result failed (ErrorText).
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
	// CostUSD is claude's total_cost_usd: the running total of the
	// conversation, across --resume, not of this run alone.
	CostUSD        float64 `json:"cost_usd"`
	DurationMS     int64   `json:"duration_ms"`
	Turns          int     `json:"turns"`
	Usage          Usage   `json:"usage"`
	APIErrorStatus int     `json:"api_error_status,omitempty"`
	Denials        int     `json:"permission_denials,omitempty"`
	// Auth is set for a failed result that is an authentication or billing
	// error (IsAuthError).
	Auth bool `json:"auth_error,omitempty"`
	// LimitedUntil is when the plan's usage limit that refused the run
	// lifts (LimitReset, or a rejected rate_limit_event); zero if the run
	// was not refused for limits.
	LimitedUntil time.Time `json:"limited_until,omitzero"`
	// RateLimit is the last rate_limit_event of the run.
	RateLimit *RateLimitState `json:"rate_limit,omitempty"`
}

// RateLimitState is a RateLimit as a Summary keeps it.
type RateLimitState struct {
	Status      string    `json:"status"`
	ResetsAt    time.Time `json:"resets_at,omitzero"`
	Type        string    `json:"type,omitempty"`
	Utilization *float64  `json:"utilization,omitempty"`
}

// Observe takes in one event of the run, read at now.
func (s *Summary) Observe(ev Event, now time.Time) {
	switch ev.Type {
	case TypeSystem:
		if in, ok := ev.Init(); ok && in.SessionID != "" {
			s.SessionID = in.SessionID
		}
	case TypeRateLimit:
		if rl, ok := ev.RateLimit(); ok {
			s.RateLimit = &RateLimitState{Status: rl.Status, ResetsAt: rl.ResetsAt, Type: rl.Type, Utilization: rl.Utilization}
		}
	case TypeResult:
		if r, ok := ev.Result(); ok {
			s.result(r, now)
		}
	}
}

func (s *Summary) result(r *Result, now time.Time) {
	s.Result, s.Subtype, s.IsError = true, r.Subtype, r.IsError
	s.Text, s.Error = cutBytes(r.Text, MaxSummaryText), ""
	s.CostUSD, s.DurationMS, s.Turns, s.Usage = r.CostUSD, r.DurationMS, r.NumTurns, r.Usage
	s.APIErrorStatus, s.Denials = r.APIErrorStatus, len(r.PermissionDenials)
	if r.SessionID != "" {
		s.SessionID = r.SessionID
	}
	s.Auth, s.LimitedUntil = false, time.Time{}
	if !r.IsError {
		return
	}
	s.Error = cutBytes(r.ErrorText(), MaxSummaryText)
	s.Auth = IsAuthError(r)
	if until, limited := LimitReset(r, now); limited {
		s.LimitedUntil = until.UTC()
	}
	if rl := s.RateLimit; rl != nil && rl.Status == "rejected" {
		s.LimitedUntil = now.Add(time.Minute).UTC()
		if !rl.ResetsAt.IsZero() {
			s.LimitedUntil = rl.ResetsAt.UTC()
		}
	}
}

// cutBytes cuts s to at most n bytes on a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Summarize reads a whole stream, for runs whose exit carries no summary
// (written by an older runner).
func Summarize(lines [][]byte, now time.Time) Summary {
	var s Summary
	for _, l := range lines {
		if ev, err := Parse(l); err == nil {
			s.Observe(ev, now)
		}
	}
	return s
}

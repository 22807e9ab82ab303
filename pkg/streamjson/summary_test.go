package streamjson_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/streamjson"
)

func TestSummaryOfFixtures(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	ok := streamjson.Summarize(fixtureLines(t, "01-text-first-turn.jsonl"), now)
	if !ok.Result || ok.IsError || ok.Text == "" || ok.SessionID == "" || ok.Turns < 1 || ok.Usage.OutputTokens == 0 {
		t.Errorf("success summary = %+v", ok)
	}
	bad := streamjson.Summarize(fixtureLines(t, "07-api-error.jsonl"), now)
	if !bad.Result || !bad.IsError || bad.Error == "" || bad.APIErrorStatus != 400 || !bad.LimitedUntil.IsZero() {
		t.Errorf("api error summary = %+v", bad)
	}
	max := streamjson.Summarize(fixtureLines(t, "06-max-turns.jsonl"), now)
	if !max.IsError || max.Error == "" {
		t.Errorf("max turns summary = %+v", max)
	}
	none := streamjson.Summarize(nil, now)
	if none.Result {
		t.Errorf("empty stream has a result: %+v", none)
	}
}

func TestSummaryLimits(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	reset := now.Add(3 * time.Hour).Unix()
	lines := [][]byte{
		[]byte(`{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":` + strconv.FormatInt(reset, 10) + `,"rateLimitType":"five_hour"}}`),
		[]byte(`{"type":"result","subtype":"success","is_error":true,"result":"You've hit your session limit"}`),
	}
	s := streamjson.Summarize(lines, now)
	if s.RateLimit == nil || s.RateLimit.Status != "rejected" || !s.LimitedUntil.Equal(time.Unix(reset, 0).UTC()) {
		t.Errorf("limited summary = %+v", s)
	}
	auth := streamjson.Summarize([][]byte{[]byte(`{"type":"result","is_error":true,"result":"Invalid API key · Please run /login"}`)}, now)
	if !auth.Auth || !auth.LimitedUntil.IsZero() {
		t.Errorf("auth summary = %+v", auth)
	}
}

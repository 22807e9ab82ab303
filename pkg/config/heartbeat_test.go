package config

import (
	"strings"
	"testing"
	"time"
)

// heartbeatDefaults is what Default() must give for heartbeat.
var heartbeatDefaults = Heartbeat{
	Interval: Duration(30 * time.Minute), Session: "heartbeat", Gates: []string{},
	GateTimeout: Duration(30 * time.Second), DecisionModel: "haiku", DecisionTimeout: Duration(2 * time.Minute),
	ActiveDays: []string{}, MinInterval: Duration(15 * time.Minute), DailyActions: 12, DailyCostUSD: 2,
	UsageThreshold: 0.8, BreakerFailures: 3, BreakerBackoff: Duration(30 * time.Minute),
}

func TestHeartbeatValues(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	in := `
heartbeat:
  interval: 1h
  session: hb
  template: reviewer
  instructions: ~/notes/HEARTBEAT.md
  gates: ["test -f /tmp/x", "true"]
  gate_timeout: 5s
  decision_model: claude-haiku-4-5
  decision_timeout: 30s
  active_hours: "22:00-06:30"
  active_days: [mon, fri]
  timezone: Europe/Berlin
  min_interval: 0s
  daily_actions: 0
  daily_cost_usd: 0.5
  usage_threshold: 1
  breaker_failures: 0
  breaker_backoff: 1h
`
	c, err := Parse([]byte(in), "/etc/ce/c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := c.Heartbeat
	if h.Interval != Duration(time.Hour) || h.Session != "hb" || len(h.Gates) != 2 || h.DailyCostUSD != 0.5 || h.UsageThreshold != 1 {
		t.Errorf("got %+v", h)
	}
	start, end, err := ParseClockRange(h.ActiveHours)
	if err != nil || start != 22*60 || end != 6*60+30 {
		t.Errorf("ParseClockRange = %d, %d, %v", start, end, err)
	}
	if d := h.Days(); !d[time.Monday] || !d[time.Friday] || d[time.Sunday] {
		t.Errorf("Days() = %v", d)
	}
	if loc, err := h.Location(); err != nil || loc.String() != "Europe/Berlin" {
		t.Errorf("Location() = %v, %v", loc, err)
	}
	if p, err := c.HeartbeatInstructions(); err != nil || p != "/home/u/notes/HEARTBEAT.md" {
		t.Errorf("HeartbeatInstructions() = %q, %v", p, err)
	}
	c.Heartbeat.Instructions = ""
	if p, _ := c.HeartbeatInstructions(); p != "/etc/ce/HEARTBEAT.md" {
		t.Errorf("default instructions beside the config = %q", p)
	}
	if d := Default().Heartbeat.Days(); d != [7]bool{true, true, true, true, true, true, true} {
		t.Errorf("no active_days must mean every day, got %v", d)
	}
}

func TestHeartbeatErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"interval: 10s", "heartbeat.interval: must be at least 1m, got 10s"},
		{"session: 'a b'", "heartbeat.session: session names use letters"},
		{"instructions: notes.md", "heartbeat.instructions: must be an absolute path or start with ~/"},
		{"gates: ['  ']", "heartbeat.gates[0]: a gate command must not be empty"},
		{"decision_model: ''", "heartbeat.decision_model: must not be empty"},
		{"active_hours: '8-22'", `heartbeat.active_hours: "8" is not a time of day`},
		{"active_hours: '08:00-08:00'", `heartbeat.active_hours: the range "08:00-08:00" is empty`},
		{"active_hours: '08:00-25:00'", `"25:00" is not a time of day`},
		{"active_hours: '08:00'", `expected a range like "08:00-22:00"`},
		{"active_days: [monday]", `heartbeat.active_days[0]: unknown day "monday" (use sun, mon, tue, wed, thu, fri, sat)`},
		{"active_days: [mon, mon]", `heartbeat.active_days[1]: "mon" is listed twice`},
		{"timezone: Mars/Olympus", `heartbeat.timezone: unknown time zone "Mars/Olympus"`},
		{"daily_actions: -1", "heartbeat.daily_actions: must not be negative"},
		{"daily_cost_usd: -1", "heartbeat.daily_cost_usd: must be a number of dollars"},
		{"usage_threshold: 1.5", "heartbeat.usage_threshold: must be between 0 and 1"},
		{"breaker_backoff: 0s", "heartbeat.breaker_backoff: must be greater than 0s"},
	} {
		_, err := Parse([]byte("heartbeat:\n  "+tc.in+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.in, err, tc.want)
		}
	}
	if _, _, err := ParseClockRange("00:00-24:00"); err != nil {
		t.Errorf("00:00-24:00: %v", err)
	}
}

package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/text"
)

// Heartbeat configures ce-heartbeat: how often it wakes up, what it looks
// at, the small model that decides, the session it acts in, and the safety
// valves that keep an agent nobody watches cheap and harmless.
type Heartbeat struct {
	// Interval is the time between two beats before any stretch.
	Interval Duration `yaml:"interval"`
	// Session is the session actions are queued in, created on first use.
	Session string `yaml:"session"`
	// Template, if set, is the template the session is created with.
	Template string `yaml:"template"`
	// Instructions is the checklist file; "" means HEARTBEAT.md beside
	// the config file. An absolute path, or one starting with ~/.
	Instructions string `yaml:"instructions"`
	// Gates are shell commands run at every beat; exit 0 means "something
	// may need attention", and their output goes to the decision.
	Gates       []string `yaml:"gates"`
	GateTimeout Duration `yaml:"gate_timeout"`
	// DecisionModel is the model of the tool-less decision run.
	DecisionModel   string   `yaml:"decision_model"`
	DecisionTimeout Duration `yaml:"decision_timeout"`
	// ActiveHours is "HH:MM-HH:MM" (the end may be earlier, for a window
	// over midnight); "" means all day. ActiveDays lists mon..sun; empty
	// means every day. Both are read in Timezone ("" is the local zone).
	ActiveHours string   `yaml:"active_hours"`
	ActiveDays  []string `yaml:"active_days"`
	Timezone    string   `yaml:"timezone"`
	// MinInterval is the least time between two actions.
	MinInterval Duration `yaml:"min_interval"`
	// DailyActions and DailyCostUSD cap a day's actions and spending (the
	// heartbeat session's runs plus the decisions); 0 means no cap.
	DailyActions int     `yaml:"daily_actions"`
	DailyCostUSD float64 `yaml:"daily_cost_usd"`
	// UsageThreshold: beats are skipped while the latest rate-limit state
	// is allowed_warning at this utilization (0..1) or more, or rejected.
	UsageThreshold float64 `yaml:"usage_threshold"`
	// BreakerFailures consecutive failed actions open the circuit breaker
	// for BreakerBackoff, doubled at every further failure; 0 disables it.
	BreakerFailures int      `yaml:"breaker_failures"`
	BreakerBackoff  Duration `yaml:"breaker_backoff"`
}

// Weekdays are the names heartbeat.active_days accepts, Sunday first as
// time.Weekday counts.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (h *Heartbeat) setDefaults() {
	h.Interval = Duration(30 * time.Minute)
	h.Session = "heartbeat"
	h.Gates = []string{}
	h.GateTimeout = Duration(30 * time.Second)
	h.DecisionModel = "haiku"
	h.DecisionTimeout = Duration(2 * time.Minute)
	h.ActiveDays = []string{}
	h.MinInterval = Duration(15 * time.Minute)
	h.DailyActions = 12
	h.DailyCostUSD = 2
	h.UsageThreshold = 0.8
	h.BreakerFailures = 3
	h.BreakerBackoff = Duration(30 * time.Minute)
}

func (h *Heartbeat) validate(v *validator) {
	if time.Duration(h.Interval) < time.Minute {
		v.fail("interval", "must be at least 1m, got %s", h.Interval)
	}
	if h.Session == "" {
		v.fail("session", "must not be empty")
	} else if !text.IsName(h.Session, "_-", 1, 64) {
		v.fail("session", "session names use letters, digits, '-' and '_' (at most 64), got %q", h.Session)
	}
	if h.Template != "" && !text.IsName(h.Template, "_-", 1, 0) {
		v.fail("template", "template names use letters, digits, '-' and '_', got %q", h.Template)
	}
	if h.Instructions != "" && !filepath.IsAbs(h.Instructions) && !hasHomePrefix(h.Instructions) {
		v.fail("instructions", "must be an absolute path or start with ~/, got %q", h.Instructions)
	}
	for i, g := range h.Gates {
		if strings.TrimSpace(g) == "" {
			v.fail(fmt.Sprintf("gates[%d]", i), "a gate command must not be empty")
		} else if strings.ContainsRune(g, 0) {
			v.fail(fmt.Sprintf("gates[%d]", i), "a gate command must not contain NUL")
		}
	}
	v.durationAtLeast("gate_timeout", h.GateTimeout, 1)
	if strings.TrimSpace(h.DecisionModel) == "" {
		v.fail("decision_model", "must not be empty (e.g. haiku)")
	}
	v.durationAtLeast("decision_timeout", h.DecisionTimeout, 1)
	if h.ActiveHours != "" {
		if _, _, err := ParseClockRange(h.ActiveHours); err != nil {
			v.fail("active_hours", "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, d := range h.ActiveDays {
		key := fmt.Sprintf("active_days[%d]", i)
		switch {
		case weekday(d) < 0:
			v.fail(key, "unknown day %q (use %s)", d, strings.Join(Weekdays, ", "))
		case seen[d]:
			v.fail(key, "%q is listed twice", d)
		}
		seen[d] = true
	}
	if _, err := h.Location(); err != nil {
		v.fail("timezone", "%v", err)
	}
	v.durationAtLeast("min_interval", h.MinInterval, 0)
	v.atLeast("daily_actions", h.DailyActions, 0)
	if h.DailyCostUSD < 0 || math.IsNaN(h.DailyCostUSD) || math.IsInf(h.DailyCostUSD, 0) {
		v.fail("daily_cost_usd", "must be a number of dollars, 0 or more, got %v", h.DailyCostUSD)
	}
	if !(h.UsageThreshold >= 0 && h.UsageThreshold <= 1) {
		v.fail("usage_threshold", "must be between 0 and 1 (a share of the plan's limit), got %v", h.UsageThreshold)
	}
	v.atLeast("breaker_failures", h.BreakerFailures, 0)
	v.durationAtLeast("breaker_backoff", h.BreakerBackoff, 1)
}

// Location is the zone of active_hours, active_days and the day the daily
// caps count: Timezone, or the local zone when it is empty.
func (h Heartbeat) Location() (*time.Location, error) {
	if h.Timezone == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin or UTC)", h.Timezone)
	}
	return loc, nil
}

// Days returns the active days; all seven when ActiveDays is empty.
func (h Heartbeat) Days() [7]bool {
	var out [7]bool
	for _, d := range h.ActiveDays {
		if i := weekday(d); i >= 0 {
			out[i] = true
		}
	}
	if len(h.ActiveDays) == 0 {
		out = [7]bool{true, true, true, true, true, true, true}
	}
	return out
}

func weekday(name string) int {
	for i, d := range Weekdays {
		if d == name {
			return i
		}
	}
	return -1
}

// ParseClockRange reads "HH:MM-HH:MM" into minutes after midnight; the end
// may be 24:00, and an end before the start is a window over midnight.
func ParseClockRange(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if ok {
		start, err = parseClock(strings.TrimSpace(a), false)
	}
	if ok && err == nil {
		end, err = parseClock(strings.TrimSpace(b), true)
	}
	switch {
	case !ok:
		err = fmt.Errorf("expected a range like \"08:00-22:00\", got %q", s)
	case err != nil:
		err = fmt.Errorf("%v in %q (use a range like \"08:00-22:00\")", err, s)
	case start == end:
		err = fmt.Errorf("the range %q is empty; leave active_hours empty for all day", s)
	}
	return start, end, err
}

func parseClock(s string, end bool) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	if hh > 23 && !(end && hh == 24 && mm == 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, 00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

// HeartbeatInstructions returns the checklist file of the heartbeat:
// heartbeat.instructions with ~/ expanded, or HEARTBEAT.md beside the
// config file (beside where it would be when there is none).
func (c *Config) HeartbeatInstructions() (string, error) {
	if p := c.Heartbeat.Instructions; p != "" {
		return expandHome(p)
	}
	if c.source != "" {
		abs, err := filepath.Abs(c.source)
		if err != nil {
			return "", err
		}
		return filepath.Join(filepath.Dir(abs), "HEARTBEAT.md"), nil
	}
	p, _ := Path("")
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no home directory for the heartbeat's instructions: %v (set heartbeat.instructions)", err)
		}
		p = filepath.Join(home, ".config", "ce", "config.yaml")
	}
	return filepath.Join(filepath.Dir(p), "HEARTBEAT.md"), nil
}

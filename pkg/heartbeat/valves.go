package heartbeat

import (
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/session"
)

// Valve names, in the order a beat checks them.
const (
	ValveAuth         = "auth"
	ValvePause        = "pause"
	ValveActiveHours  = "active_hours"
	ValveBreaker      = "breaker"
	ValveUsage        = "usage"
	ValveDailyActions = "daily_actions"
	ValveDailyCost    = "daily_cost"
	ValveMinInterval  = "min_interval"
)

// Valve is the state of one safety valve. Open means a beat may pass it.
type Valve struct {
	Name   string `json:"name"`
	Open   bool   `json:"open"`
	Detail string `json:"detail"`
	// Until is when a closed valve opens by itself (zero: only by hand).
	Until time.Time `json:"until,omitzero"`
}

// valveInput is what the valves are computed from.
type valveInput struct {
	now    time.Time
	hb     config.Heartbeat
	loc    *time.Location
	st     State
	limits []session.RateLimit
	// dayCost is today's spending: decisions and the session's runs.
	dayCost float64
}

// bypass says which valves a beat may pass.
type bypass struct {
	interval bool // urgency now or force: min_interval
	all      bool // force: every valve but auth
}

func (b bypass) passes(v Valve) bool {
	switch {
	case v.Open:
		return true
	case v.Name == ValveAuth:
		return false
	case b.all:
		return true
	case v.Name == ValveMinInterval:
		return b.interval
	}
	return false
}

func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// evalValves computes every valve, in check order.
func evalValves(in valveInput) []Valve {
	now, hb, loc, st := in.now, in.hb, in.loc, in.st
	var vs []Valve

	auth := Valve{Name: ValveAuth, Open: !st.AuthPaused, Detail: "no authentication or billing error"}
	if st.AuthPaused {
		auth.Detail = fmt.Sprintf("paused since %s after an authentication or billing error: %s (fix the login, e.g. claude auth status, then ce-heartbeat resume)",
			clock(st.AuthSince, loc), oneLine(st.AuthReason, 200))
	}
	vs = append(vs, auth)

	pause := Valve{Name: ValvePause, Open: true, Detail: "not paused"}
	if st.pausedAt(now) {
		pause.Open = false
		why := ""
		if st.PauseReason != "" {
			why = " (" + st.PauseReason + ")"
		}
		if st.PausedUntil.IsZero() {
			pause.Detail = "paused" + why + " until ce-heartbeat resume"
		} else {
			pause.Detail = "paused until " + clock(st.PausedUntil, loc) + why
			pause.Until = st.PausedUntil
		}
	}
	vs = append(vs, pause)

	vs = append(vs, activeValve(now, hb, loc))

	br := Valve{Name: ValveBreaker, Open: true}
	switch {
	case hb.BreakerFailures == 0:
		br.Detail = "disabled (breaker_failures: 0)"
	case st.Failures >= hb.BreakerFailures && now.Before(st.BackoffUntil):
		br.Open, br.Until = false, st.BackoffUntil
		br.Detail = fmt.Sprintf("tripped after %s in a row; the next action may run at %s", plural(st.Failures, "failed action"), clock(st.BackoffUntil, loc))
	default:
		br.Detail = fmt.Sprintf("%s in a row (it trips at %d)", plural(st.Failures, "failed action"), hb.BreakerFailures)
	}
	vs = append(vs, br)

	vs = append(vs, usageValve(now, hb.UsageThreshold, in.limits, loc))

	midnight := nextMidnight(now, loc)
	da := Valve{Name: ValveDailyActions, Open: true}
	if hb.DailyActions == 0 {
		da.Detail = fmt.Sprintf("no cap (%d today)", st.DayActions)
	} else if st.DayActions >= hb.DailyActions {
		da.Open, da.Until = false, midnight
		da.Detail = fmt.Sprintf("cap reached: %d of %d actions today; the count starts again at %s", st.DayActions, hb.DailyActions, clock(midnight, loc))
	} else {
		da.Detail = fmt.Sprintf("%d of %d actions today", st.DayActions, hb.DailyActions)
	}
	vs = append(vs, da)

	dc := Valve{Name: ValveDailyCost, Open: true}
	if hb.DailyCostUSD == 0 {
		dc.Detail = fmt.Sprintf("no cap ($%.4f today)", in.dayCost)
	} else if in.dayCost >= hb.DailyCostUSD {
		dc.Open, dc.Until = false, midnight
		dc.Detail = fmt.Sprintf("cap reached: $%.4f of $%.2f spent today; the count starts again at %s", in.dayCost, hb.DailyCostUSD, clock(midnight, loc))
	} else {
		dc.Detail = fmt.Sprintf("$%.4f of $%.2f spent today", in.dayCost, hb.DailyCostUSD)
	}
	vs = append(vs, dc)

	mi := Valve{Name: ValveMinInterval, Open: true}
	gap := time.Duration(hb.MinInterval)
	switch {
	case st.LastAction.IsZero():
		mi.Detail = "no action yet"
	case gap > 0 && now.Before(st.LastAction.Add(gap)):
		mi.Open, mi.Until = false, st.LastAction.Add(gap)
		mi.Detail = fmt.Sprintf("last action at %s; the next may come at %s (min_interval %s)", clock(st.LastAction, loc), clock(mi.Until, loc), hb.MinInterval)
	default:
		mi.Detail = "last action at " + clock(st.LastAction, loc)
	}
	vs = append(vs, mi)
	return vs
}

// activeValve is open inside the active hours and days.
func activeValve(now time.Time, hb config.Heartbeat, loc *time.Location) Valve {
	v := Valve{Name: ValveActiveHours, Open: true}
	if hb.ActiveHours == "" && len(hb.ActiveDays) == 0 {
		v.Detail = "always (no active_hours or active_days)"
		return v
	}
	w := newWindow(hb, loc)
	desc := w.String()
	if w.active(now) {
		v.Detail = "inside " + desc
		return v
	}
	v.Open, v.Until = false, w.next(now)
	v.Detail = "outside " + desc
	if !v.Until.IsZero() {
		v.Detail += "; it opens at " + clock(v.Until, loc)
	}
	return v
}

// window is the active hours and days.
type window struct {
	start, end int // minutes after midnight
	hours      bool
	days       [7]bool
	dayNames   []string
	spec       string
	loc        *time.Location
}

func newWindow(hb config.Heartbeat, loc *time.Location) window {
	w := window{days: hb.Days(), dayNames: hb.ActiveDays, spec: hb.ActiveHours, loc: loc}
	if hb.ActiveHours != "" {
		if s, e, err := config.ParseClockRange(hb.ActiveHours); err == nil {
			w.start, w.end, w.hours = s, e, true
		}
	}
	return w
}

func (w window) String() string {
	var parts []string
	if w.hours {
		parts = append(parts, w.spec)
	} else {
		parts = append(parts, "all day")
	}
	if len(w.dayNames) > 0 {
		parts = append(parts, "on "+strings.Join(w.dayNames, ","))
	}
	return "active hours " + strings.Join(parts, " ") + " (" + w.loc.String() + ")"
}

// active reports whether t is inside the window; both the day and the
// clock are read on t's local date.
func (w window) active(t time.Time) bool {
	lt := t.In(w.loc)
	if !w.days[lt.Weekday()] {
		return false
	}
	if !w.hours {
		return true
	}
	m := lt.Hour()*60 + lt.Minute()
	if w.start < w.end {
		return m >= w.start && m < w.end
	}
	return m >= w.start || m < w.end
}

// next is the first moment after t inside the window (zero if none within
// eight days, which a valid config cannot give): activity only begins at a
// window's start or at midnight, so those are the candidates.
func (w window) next(t time.Time) time.Time {
	lt := t.In(w.loc)
	var best time.Time
	for d := 0; d <= 8; d++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+d, 0, 0, 0, 0, w.loc)
		cands := []time.Time{day}
		if w.hours {
			cands = append(cands, day.Add(time.Duration(w.start)*time.Minute))
		}
		for _, c := range cands {
			if c.After(t) && w.active(c) && (best.IsZero() || c.Before(best)) {
				best = c
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return best
}

func nextMidnight(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
}

// usageValve is closed while a stored rate-limit state that has not reset
// yet is rejected, or allowed_warning at the threshold or above (a warning
// without a utilization figure counts as above, unless the threshold is 1).
func usageValve(now time.Time, threshold float64, limits []session.RateLimit, loc *time.Location) Valve {
	v := Valve{Name: ValveUsage, Open: true, Detail: "no rate-limit warning"}
	for _, rl := range limits {
		until := rl.ResetsAt
		if until.IsZero() {
			until = rl.Seen.Add(time.Hour)
		}
		if !now.Before(until) {
			continue
		}
		var why string
		switch rl.Status {
		case "rejected":
			why = "rate limit rejected"
		case "allowed_warning":
			switch {
			case rl.Utilization != nil && *rl.Utilization >= threshold:
				why = fmt.Sprintf("rate limit warning at %.0f%% (usage_threshold %.0f%%)", *rl.Utilization*100, threshold*100)
			case rl.Utilization == nil && threshold < 1:
				why = "rate limit warning"
			}
		}
		if why == "" {
			continue
		}
		if rl.Type != "" {
			why += " (" + rl.Type + ")"
		}
		if v.Open || until.After(v.Until) {
			v.Open, v.Until = false, until
			v.Detail = why + " until " + clock(until, loc)
		}
	}
	if v.Open && len(limits) == 0 {
		v.Detail = "no rate-limit state seen"
	}
	return v
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

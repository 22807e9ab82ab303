package cronjob

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"
	"github.com/ce-platform/ce/pkg/config"
)

// wallLayout compares due times by the clock on the wall of their zone.
const wallLayout = "2006-01-02 15:04:05"

func loadZone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.Local, nil
	}
	if strings.EqualFold(tz, "local") {
		return nil, fmt.Errorf("unknown time zone %q (leave it out for the local zone, or use an IANA name such as Europe/Paris, or UTC)", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Paris, or UTC)", tz)
	}
	return loc, nil
}

// CheckCron validates a cron expression and returns its first due time
// after now in loc.
func CheckCron(expr string, now time.Time, loc *time.Location) (time.Time, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(strings.ToLower(e), "@every") {
		return time.Time{}, fmt.Errorf("invalid cron expression %q: @every is not supported (use a schedule such as */5 * * * *, or --in for one run)", expr)
	}
	if strings.HasPrefix(strings.ToUpper(e), "CRON_TZ=") || strings.HasPrefix(strings.ToUpper(e), "TZ=") {
		return time.Time{}, fmt.Errorf("invalid cron expression %q: give the time zone separately (--tz, or tz)", expr)
	}
	if !gronx.IsValid(e) {
		return time.Time{}, fmt.Errorf("invalid cron expression %q: use 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a macro such as @hourly or @daily", expr)
	}
	next, err := nextAfter(e, now, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("cron expression %q never fires", expr)
	}
	return next, nil
}

// nextAfter is the first due time of expr strictly after t, read in loc.
// It never returns a time at or before t, nor one showing the same wall
// clock as t (so a fixed-time job does not fire twice when clocks go back).
func nextAfter(expr string, t time.Time, loc *time.Location) (time.Time, error) {
	ref := t.In(loc)
	for range 8 {
		n, err := gronx.NextTickAfter(expr, ref, false)
		if err != nil {
			return time.Time{}, err
		}
		if n.After(t) && n.In(loc).Format(wallLayout) != t.In(loc).Format(wallLayout) {
			return n, nil
		}
		if n.After(ref) {
			ref = n
		} else {
			ref = ref.Add(time.Second)
		}
	}
	return time.Time{}, errors.New("no next due time")
}

// ParseAt reads a one-shot time: RFC 3339, "2006-01-02 15:04[:05]" in loc,
// or "15:04[:05]", today in loc or tomorrow when that has passed. A time
// not after now is an error quoting the input.
func ParseAt(s string, now time.Time, loc *time.Location) (time.Time, error) {
	in := strings.TrimSpace(s)
	if t, ok := config.ParseCronAt(in, loc); ok {
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("time %q is in the past (%s ago)", s, Age(now.Sub(t)))
		}
		return t, nil
	}
	for _, l := range []string{"15:04", "15:04:05"} {
		c, err := time.ParseInLocation(l, in, loc)
		if err != nil {
			continue
		}
		d := now.In(loc)
		t := time.Date(d.Year(), d.Month(), d.Day(), c.Hour(), c.Minute(), c.Second(), 0, loc)
		if !t.After(now) {
			t = time.Date(d.Year(), d.Month(), d.Day()+1, c.Hour(), c.Minute(), c.Second(), 0, loc)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q: use RFC 3339 (2026-01-02T15:04:05+01:00), \"2026-01-02 15:04\" or \"15:04\" (today, or tomorrow once passed), in the job's zone", s)
}

// ParseIn reads a delay such as "20m" and returns now plus it.
func ParseIn(s string, now time.Time) (time.Time, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid duration %q: use a Go duration such as 90s, 20m or 1h30m", s)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("duration %q is not in the future: use a positive duration such as 20m", s)
	}
	return now.Add(d), nil
}

// Age says how long d is, for people: "40s", "5m", "3h20m", "12 days".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// ValidName checks a job name: letters, digits, '-' and '_', at most 48
// (its fresh sessions are named cron-<job>-<n>).
func ValidName(name string) error {
	if !config.ValidJobName(name) {
		return fmt.Errorf("invalid job name %q: use letters, digits, '-' and '_', at most 48", name)
	}
	return nil
}

// Spec is a job as asked for, from the command line, a session or the
// config: exactly one of Cron, In and At.
type Spec struct {
	Name   string
	Cron   string
	In     string
	At     string
	TZ     string
	Prompt string
	Target
	Missed    string
	Source    string
	CreatedBy string
}

// Job checks the spec and returns the job it makes at now. Errors say what
// was wrong and quote the input.
func (s Spec) Job(now time.Time) (Job, error) {
	if err := ValidName(s.Name); err != nil {
		return Job{}, err
	}
	loc, err := loadZone(s.TZ)
	if err != nil {
		return Job{}, err
	}
	n := 0
	for _, v := range []string{s.Cron, s.In, s.At} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return Job{}, errors.New("give exactly one schedule: a cron expression, a delay (in) or a time (at)")
	}
	switch s.Missed {
	case "":
		s.Missed = MissedOnce
	case MissedSkip, MissedOnce, MissedAll:
	default:
		return Job{}, fmt.Errorf("invalid missed-run policy %q: use skip, once or all", s.Missed)
	}
	if strings.TrimSpace(s.Prompt) == "" {
		return Job{}, errors.New("the prompt is empty")
	}
	if s.New && s.Session != "" {
		return Job{}, errors.New("give either a session or a fresh session per run, not both")
	}
	if !s.New && s.Session == "" {
		return Job{}, errors.New("give a session, or ask for a fresh session per run")
	}
	if !s.New && (s.Template != "" || s.Keep) {
		return Job{}, errors.New("a template and keep apply to a fresh session per run, not to a named session")
	}
	j := Job{
		Name: s.Name, TZ: s.TZ, Prompt: s.Prompt, Target: s.Target, Missed: s.Missed,
		Source: s.Source, CreatedBy: s.CreatedBy, Created: now.UTC(), Anchor: now.UTC(),
	}
	switch {
	case s.Cron != "":
		j.Cron = strings.TrimSpace(s.Cron)
		if j.Next, err = CheckCron(j.Cron, now, loc); err != nil {
			return Job{}, err
		}
	case s.In != "":
		if j.At, err = ParseIn(s.In, now); err != nil {
			return Job{}, err
		}
		j.Next = j.At
	default:
		if j.At, err = ParseAt(s.At, now, loc); err != nil {
			return Job{}, err
		}
		j.Next = j.At
	}
	j.At, j.Next = j.At.UTC(), j.Next.UTC()
	return j, nil
}

// fromConfig makes the job of a cron.jobs entry at now. A one-shot time
// that passed is kept (the missed-run policy decides), not refused.
func fromConfig(name string, cj config.CronJob, now time.Time) (Job, error) {
	s := Spec{Name: name, Cron: cj.Cron, TZ: cj.TZ, Prompt: cj.Prompt, Missed: cj.Missed, Source: SourceConfig, CreatedBy: SourceConfig,
		Target: Target{Session: cj.Session, New: cj.New, Template: cj.Template, Keep: cj.Keep}}
	var at time.Time
	if cj.At != "" {
		loc, err := loadZone(cj.TZ)
		if err != nil {
			return Job{}, err
		}
		t, ok := config.ParseCronAt(cj.At, loc)
		if !ok {
			return Job{}, fmt.Errorf("invalid time %q", cj.At)
		}
		at = t
		s.In = "1h" // validated as a one-shot; At is set below
	}
	j, err := s.Job(now)
	if err != nil {
		return Job{}, err
	}
	if !at.IsZero() {
		j.At, j.Next = at.UTC(), at.UTC()
	}
	j.Def = definition(cj)
	return j, nil
}

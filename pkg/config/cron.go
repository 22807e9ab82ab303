package config

import (
	"strings"
	"time"

	"github.com/adhocore/gronx"
	"github.com/ce-platform/ce/pkg/text"
)

// Cron configures the scheduler (ce-cron) and its static jobs.
type Cron struct {
	// Grace is how late a job with the missed policy "once" may still fire
	// after the scheduler was down; a due time older than that is skipped.
	Grace Duration `yaml:"grace"`
	// Jobs are jobs defined here: listed and fired like the others, but
	// not removable with ce-cron rm or by sessions.
	Jobs map[string]CronJob `yaml:"jobs"`
}

// CronJob is one job of cron.jobs. Exactly one of Cron and At is set, and
// exactly one of Session and New.
type CronJob struct {
	Cron     string `yaml:"cron"`     // cron expression: 5 or 6 fields, or a macro
	At       string `yaml:"at"`       // one-shot time: RFC 3339, or "2006-01-02 15:04" in TZ
	TZ       string `yaml:"tz"`       // IANA time zone; "" is the local zone
	Session  string `yaml:"session"`  // the session the prompt goes to
	New      bool   `yaml:"new"`      // a fresh session per run instead
	Template string `yaml:"template"` // template of the fresh session
	Keep     bool   `yaml:"keep"`     // keep the fresh session after its run
	Missed   string `yaml:"missed"`   // skip, once or all; "" is once
	Prompt   string `yaml:"prompt"`
}

// ValidJobName reports whether name is a job name: 1 to 48 letters,
// digits, '-' and '_' (a job's fresh sessions are named after it).
func ValidJobName(name string) bool { return text.IsName(name, "_-", 1, 48) }

// CronMissed lists the missed-run policies.
var CronMissed = []string{"skip", "once", "all"}

// CronAtLayouts are the forms of an absolute one-shot time besides RFC 3339,
// read in the job's zone.
var CronAtLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// ParseCronAt reads an absolute one-shot time: RFC 3339, or one of
// CronAtLayouts in loc.
func ParseCronAt(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, l := range CronAtLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *Cron) setDefaults() {
	c.Grace = Duration(time.Hour)
	c.Jobs = map[string]CronJob{}
}

func (c *Cron) validate(v *validator) {
	v.durationAtLeast("grace", c.Grace, 0)
	for _, name := range sortedKeys(c.Jobs) {
		j := c.Jobs[name]
		key := "jobs." + name
		if !ValidJobName(name) {
			v.fail(key, "job names use letters, digits, '-' and '_', at most 48")
			continue
		}
		loc := time.Local
		if j.TZ != "" {
			l, err := time.LoadLocation(j.TZ)
			if err != nil || strings.EqualFold(j.TZ, "local") {
				v.fail(key+".tz", "unknown time zone %q (use an IANA name such as Europe/Paris, or UTC)", j.TZ)
				continue
			}
			loc = l
		}
		switch {
		case (j.Cron == "") == (j.At == ""):
			v.fail(key, "set exactly one of cron (a schedule) and at (a one-shot time)")
		case j.Cron != "" && !gronx.IsValid(j.Cron):
			v.fail(key+".cron", "invalid cron expression %q (5 or 6 fields, or a macro such as @daily)", j.Cron)
		case j.At != "":
			if _, ok := ParseCronAt(j.At, loc); !ok {
				v.fail(key+".at", "invalid time %q (use RFC 3339, e.g. 2026-01-02T15:04:05Z, or \"2026-01-02 15:04\" in tz)", j.At)
			}
		}
		switch {
		case j.Session != "" && j.New:
			v.fail(key, "set either session (reuse a session) or new: true (a fresh session per run), not both")
		case j.Session == "" && !j.New:
			v.fail(key, "set session (the session the prompt goes to) or new: true (a fresh session per run)")
		case j.Session != "" && !text.IsName(j.Session, "_-", 1, 64):
			v.fail(key+".session", "session names use letters, digits, '-' and '_', at most 64, got %q", j.Session)
		case j.Session != "" && (j.Template != "" || j.Keep):
			v.fail(key, "template and keep apply to fresh sessions (new: true), not to session %q", j.Session)
		}
		if j.Missed != "" {
			v.oneOf(key+".missed", "missed-run policy", j.Missed, CronMissed, "")
		}
		if strings.TrimSpace(j.Prompt) == "" {
			v.fail(key+".prompt", "must not be empty")
		}
	}
}

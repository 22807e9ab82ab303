package streamjson

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LimitGuess is how long LimitReset assumes a usage limit lasts when the
// message does not say when it resets.
const LimitGuess = time.Hour

var (
	// Older claude: "Claude AI usage limit reached|1767225600".
	limitEpochRe = lazyRE(`(?i)usage limit reached\s*\|\s*(\d{9,13})`)
	// Newer claude: "You've hit your limit · resets 3pm (Europe/Berlin)",
	// "5-hour limit reached ∙ resets 2am", "Claude usage limit reached. Your
	// limit will reset at 5pm (Europe/Warsaw)."
	limitTextRe = lazyRE(`(?i)usage limit reached|hit your (?:[\w-]+ )?limit|limit reached|limit will reset|reached your (?:[\w-]+ )?(?:usage )?limit|out of extra usage`)
	// The words after "resets"/"reset at": a clock time, maybe a date,
	// maybe a zone in parentheses.
	resetRe = lazyRE(`(?i)\breset(?:s|ting)?\b(?:\s+(?:at|on))?\s+([^()\n]*?)\s*(?:\(([^()\n]+)\))?\s*(?:[.!;·∙•|]|$)`)
	clockRe = lazyRE(`(?i)^(?:([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:at\s+)?)?(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|^(?:([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(?:at\s+)?)?(\d{1,2}):(\d{2})\b`)
	inRe    = lazyRE(`(?i)^in\s+~?\s*(\d+)\s*(hours?|hrs?|h|minutes?|mins?|m)\b`)
)

// LimitReset reports whether r is a failed run that hit the plan's usage
// limit and, if so, when the limit lifts. It reads the reset from the
// message, relative to now: a Unix time after a "|" (older claude), or a
// clock time like "resets 3pm (Europe/Berlin)" taken in the named zone, else
// in now's location. A clock time already more than an hour past is taken
// as tomorrow's. When the message names no readable time the answer is
// now+LimitGuess, still with ok true.
func LimitReset(r *Result, now time.Time) (time.Time, bool) {
	if r == nil || !r.IsError {
		return time.Time{}, false
	}
	texts := append([]string{r.Text}, r.Errors...)
	for _, text := range texts {
		if m := limitEpochRe().FindStringSubmatch(text); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				if n > 1e11 {
					return time.UnixMilli(n).In(now.Location()), true
				}
				return time.Unix(n, 0).In(now.Location()), true
			}
		}
	}
	for _, text := range texts {
		if !limitTextRe().MatchString(text) {
			continue
		}
		if t, ok := parseReset(text, now); ok {
			return t, true
		}
		return now.Add(LimitGuess), true
	}
	return time.Time{}, false
}

// parseReset finds "resets <when>" in text and resolves it against now.
func parseReset(text string, now time.Time) (time.Time, bool) {
	for _, m := range resetRe().FindAllStringSubmatch(text, -1) {
		when := strings.TrimSpace(m[1])
		loc := now.Location()
		if zone := strings.TrimSpace(m[2]); zone != "" {
			if l, err := time.LoadLocation(zone); err == nil {
				loc = l
			}
		}
		if t, ok := resolveReset(when, now, loc); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func resolveReset(when string, now time.Time, loc *time.Location) (time.Time, bool) {
	if m := inRe().FindStringSubmatch(when); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 24*60*31 {
			return time.Time{}, false
		}
		unit := time.Minute
		if strings.HasPrefix(strings.ToLower(m[2]), "h") {
			unit = time.Hour
		}
		return now.Add(time.Duration(n) * unit), true
	}
	m := clockRe().FindStringSubmatch(when)
	if m == nil {
		return time.Time{}, false
	}
	var mon, day, hour, minute, ampm string
	if m[3] != "" {
		mon, day, hour, minute, ampm = m[1], m[2], m[3], m[4], m[5]
	} else {
		mon, day, hour, minute = m[6], m[7], m[8], m[9]
	}
	h, _ := strconv.Atoi(hour)
	mi := 0
	if minute != "" {
		mi, _ = strconv.Atoi(minute)
	}
	if mi > 59 {
		return time.Time{}, false
	}
	switch strings.ToLower(ampm) {
	case "a":
		if h < 1 || h > 12 {
			return time.Time{}, false
		}
		if h == 12 {
			h = 0
		}
	case "p":
		if h < 1 || h > 12 {
			return time.Time{}, false
		}
		if h != 12 {
			h += 12
		}
	default:
		if h > 23 {
			return time.Time{}, false
		}
	}
	local := now.In(loc)
	if mon != "" {
		month, ok := monthOf(mon)
		d, _ := strconv.Atoi(day)
		if !ok || d < 1 || d > 31 {
			return time.Time{}, false
		}
		t := time.Date(local.Year(), month, d, h, mi, 0, 0, loc)
		if t.Before(now.AddDate(0, 0, -7)) {
			t = time.Date(local.Year()+1, month, d, h, mi, 0, 0, loc)
		}
		return t, true
	}
	t := time.Date(local.Year(), local.Month(), local.Day(), h, mi, 0, 0, loc)
	if t.Before(now.Add(-time.Hour)) {
		t = time.Date(local.Year(), local.Month(), local.Day()+1, h, mi, 0, 0, loc)
	}
	return t, true
}

func monthOf(s string) (time.Month, bool) {
	if len(s) < 3 {
		return 0, false
	}
	p := strings.ToLower(s[:3])
	for m := time.January; m <= time.December; m++ {
		if strings.ToLower(m.String()[:3]) == p {
			return m, true
		}
	}
	return 0, false
}

var authRe = regexp.MustCompile(`(?i)invalid api key|invalid x-api-key|please run /login|not logged in|oauth token (?:has )?expired|oauth token (?:has been |was )?revoked|authentication_error|credit balance (?:is )?too low|insufficient (?:credits?|balance|funds)|billing_error`)

// IsAuthError reports whether r failed because claude cannot authenticate
// or the account cannot pay: an API status 401 or 403, or an error message
// such as "Invalid API key · Please run /login", "OAuth token has expired"
// or "Credit balance is too low". Retrying such a run does not help until a
// person acts.
func IsAuthError(r *Result) bool {
	if r == nil {
		return false
	}
	if r.APIErrorStatus == 401 || r.APIErrorStatus == 403 {
		return true
	}
	if !r.IsError {
		return false
	}
	if authRe.MatchString(r.Text) {
		return true
	}
	for _, e := range r.Errors {
		if authRe.MatchString(e) {
			return true
		}
	}
	return false
}

// lazyRE compiles an expression on first use: most programs that link
// this package never meet a usage limit, and compiling at start would cost
// each of them.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

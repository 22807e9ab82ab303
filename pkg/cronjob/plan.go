package cronjob

import (
	"time"

	"github.com/adhocore/gronx"
)

// maxScan bounds the due times walked one by one after a downtime (a
// schedule every second, down for a day); beyond it the walk jumps to the
// latest due time.
const maxScan = 10_000

// plan handles every due time of j up to now: it returns those to fire
// under the job's missed-run policy and how many it passes over, and
// advances the job (Anchor, Next, Done). It changes nothing when no time is
// due; paused jobs are never due.
func (j *Job) plan(now time.Time, grace time.Duration) (due []time.Time, skipped int, err error) {
	if j.Paused || j.Done || j.Next.IsZero() || now.Before(j.Next) {
		return nil, 0, nil
	}
	var seen []time.Time // the latest MaxCatchUp due times
	total := 0
	add := func(t time.Time) {
		total++
		seen = append(seen, t)
		if len(seen) > MaxCatchUp {
			seen = seen[1:]
		}
	}
	if j.OneShot() {
		add(j.Next)
		j.Done, j.Next = true, time.Time{}
	} else {
		loc, err := j.Location()
		if err != nil {
			return nil, 0, err
		}
		d := j.Next
		var nerr error
		for !d.After(now) {
			if total >= maxScan {
				// Far behind: jump to the latest due time; the times
				// between count as skipped, unnumbered.
				if p, perr := gronx.PrevTickBefore(j.Cron, now.In(loc), true); perr == nil && p.After(seen[len(seen)-1]) && !p.After(now) {
					add(p)
				}
				d, nerr = nextAfter(j.Cron, now, loc)
				break
			}
			add(d)
			if d, nerr = nextAfter(j.Cron, d, loc); nerr != nil {
				break
			}
		}
		j.Next = d.UTC()
		if nerr != nil {
			j.Next = time.Time{} // the schedule has no more due times
		}
	}
	latest := seen[len(seen)-1]
	j.Anchor = latest.UTC()
	late := now.Sub(latest)
	switch j.Missed {
	case MissedAll:
		due = seen
	case MissedSkip:
		if late <= OnTime {
			due = []time.Time{latest}
		}
	default:
		if late <= max(grace, OnTime) {
			due = []time.Time{latest}
		}
	}
	return due, total - len(due), nil
}

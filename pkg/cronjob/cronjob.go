// Package cronjob provides ce's scheduled prompts: the jobs in
// <state>/cron.db, their schedules (cron expressions through gronx, in the
// job's time zone, or one-shot times), the missed-run policies, and the
// Scheduler that fires due jobs by pushing their prompt into the queue,
// exactly once per due time, whoever ticks and whenever a ticker dies.
//
// # Exactly once
//
// Firing is three steps over two stores, and a process may be killed
// between any two of them:
//
//  1. decide: in one cron.db transaction, the due times of a job are
//     consumed (its anchor moves past them) and, for each time that fires,
//     an intent is written: a fire record "f:<id>" holding everything the
//     push needs (prompt, target session, due time).
//  2. push: the prompt goes into queue.db (one transaction) with the
//     intent's key, "cron:<job>/<fire id>", as the item's source.
//  3. record: in one cron.db transaction the intent is deleted and the
//     item's ID recorded on the job as its last result.
//
// Every scheduler (ce-cron tick, ce-cron serve, ce-cron fire) does all
// three under one exclusive lock, <state>/locks/cron-fire.lock, which the
// kernel releases when its holder dies. So intents are only ever completed
// by the lock holder: a fresh intent by the process that wrote it, an intent
// left by a dead process by the next one to take the lock, which first
// looks in the queue for an item with the intent's key and pushes only if
// there is none. A kill before step 1 commits loses nothing (the due time
// is still due); after step 1, the intent survives and is pushed; after
// step 2, the intent is found and recorded, not pushed again. Since a due
// time is consumed in the same transaction that writes its intent, no two
// schedulers can decide the same due time.
//
// The record layout is internal; the job names, the item source
// "cron:<job>/<fire>" and the topic TopicChanged are a contract.
package cronjob

import (
	"errors"
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/config"
)

// TopicChanged is published on the broker when jobs are added, removed,
// paused or resumed, so ce-cron serve recomputes its next wake-up.
const TopicChanged = "cron.changed"

// Sources of a job.
const (
	SourceConfig  = "config"
	SourceCLI     = "cli"
	SessionPrefix = "session:"
)

// Missed-run policies: what a job does about due times that passed while
// no scheduler ran.
const (
	MissedSkip = "skip" // fire only when on time (within OnTime)
	MissedOnce = "once" // fire once for the latest missed time, within the grace window
	MissedAll  = "all"  // fire once for each missed time, at most MaxCatchUp
)

// OnTime is how late a due time may be handled and still count as on time,
// not missed: a system cron running ce-cron tick every minute handles a
// six-field schedule up to a minute late.
const OnTime = time.Minute

// MaxCatchUp bounds the fires of one job with the policy "all" after a
// downtime: the latest MaxCatchUp missed times fire, older ones are skipped.
const MaxCatchUp = 100

// MaxAttempts is how many times a failed push is tried (on later ticks)
// before the fire is recorded as an error.
const MaxAttempts = 3

// ErrNotFound means no job has the name.
var ErrNotFound = errors.New("no such job")

// ExistsError means a job of that name exists already.
type ExistsError struct{ Name, Source string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("job %q already exists (source %s)", e.Name, e.Source)
}

// Target is where a job's prompt goes: a named session, or a fresh session
// per run.
type Target struct {
	Session  string `json:"session,omitempty"`
	New      bool   `json:"new,omitempty"`
	Template string `json:"template,omitempty"`
	Keep     bool   `json:"keep,omitempty"`
	// Dir is the working directory of fresh sessions when neither the
	// template nor sessions.default_dir names one.
	Dir string `json:"dir,omitempty"`
	// User owns fresh sessions (their slot counts against the user's).
	User string `json:"user,omitempty"`
}

// String describes the target for people.
func (t Target) String() string {
	if !t.New {
		return t.Session
	}
	s := "new"
	if t.Template != "" {
		s += ":" + t.Template
	}
	if t.Keep {
		s += ",keep"
	}
	return s
}

// Job is one scheduled prompt.
type Job struct {
	Name string `json:"name"`
	// Cron is the schedule; empty for a one-shot job, which fires at At.
	Cron string    `json:"cron,omitempty"`
	At   time.Time `json:"at,omitzero"`
	// TZ is the IANA zone the schedule is read in; "" is the scheduler's
	// local zone.
	TZ     string `json:"tz,omitempty"`
	Prompt string `json:"prompt"`
	Target
	Missed    string    `json:"missed"`
	Source    string    `json:"source"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
	Paused    bool      `json:"paused,omitempty"`
	// Anchor is the latest due time handled (fired or skipped), or when the
	// job was created or resumed: due times after it are still to come.
	Anchor time.Time `json:"anchor"`
	// Next is the first due time after Anchor; zero when there is none.
	Next time.Time `json:"next,omitzero"`
	// Done marks a one-shot job that fired or was skipped. Such a job is
	// removed, unless it comes from the config.
	Done    bool      `json:"done,omitempty"`
	Runs    int       `json:"runs"`
	LastRun time.Time `json:"last_run,omitzero"`
	Last    *Result   `json:"last,omitempty"`
	// Def is, for config jobs, the definition the job was made from.
	Def string `json:"def,omitempty"`
}

// OneShot reports whether the job fires once, at At.
func (j *Job) OneShot() bool { return j.Cron == "" }

// Location is the job's time zone.
func (j *Job) Location() (*time.Location, error) { return loadZone(j.TZ) }

// Schedule describes the schedule for people: the expression or the
// one-shot time, with the zone.
func (j *Job) Schedule() string {
	zone := j.TZ
	if zone == "" {
		zone = "local"
	}
	if j.OneShot() {
		loc, err := j.Location()
		if err != nil {
			loc = time.UTC
		}
		return "at " + j.At.In(loc).Format("2006-01-02 15:04:05") + " " + zone
	}
	return j.Cron + " " + zone
}

// Fire is one firing of a job: first an intent in cron.db, then an item in
// the queue.
type Fire struct {
	ID     string    `json:"id"`
	Job    string    `json:"job"`
	Due    time.Time `json:"due"`
	Manual bool      `json:"manual,omitempty"`
	Prompt string    `json:"prompt"`
	// Target.Session is the session the prompt goes to; for a fresh
	// session it is named cron-<job>-<n> when the intent is written.
	Target
	Written  time.Time `json:"written"`
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Source is the intent's key, given to the queue item as its source so that
// a later scheduler can tell whether the push happened.
func (f Fire) Source() string { return "cron:" + f.Job + "/" + f.ID }

// Result is how a fire went.
type Result struct {
	Fire    string    `json:"fire"`
	Due     time.Time `json:"due"`
	Ran     time.Time `json:"ran"`
	Manual  bool      `json:"manual,omitempty"`
	Session string    `json:"session,omitempty"`
	Item    string    `json:"item,omitempty"`
	// State is the queue item's state when it was last looked at, or
	// StateError when no item was queued.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// StateError is the state of a fire that queued no item.
const StateError = "error"

// Cleanup is a fresh session to remove once its item is final.
type Cleanup struct {
	Session string `json:"session"`
	Item    string `json:"item"`
	Job     string `json:"job"`
}

// Permanent marks a push error that retrying will not fix (the session
// does not exist, the user has no free slot): the fire is recorded as an
// error at once rather than tried again.
func Permanent(err error) error { return &permanentError{err} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// definition is what config jobs are compared by.
func definition(cj config.CronJob) string {
	return fmt.Sprintf("%q %q %q %q %v %q %v %q %q", cj.Cron, cj.At, cj.TZ, cj.Session, cj.New, cj.Template, cj.Keep, cj.Missed, cj.Prompt)
}

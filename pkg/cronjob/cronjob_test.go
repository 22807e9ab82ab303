package cronjob

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/queue"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 30, 0, time.UTC) // a Monday

func TestSpecErrorsQuoteTheInput(t *testing.T) {
	now := t0
	base := Spec{Name: "j", Prompt: "p", Target: Target{Session: "s"}}
	for _, tc := range []struct {
		mod  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Cron = "61 * * * *" }, `invalid cron expression "61 * * * *"`},
		{func(s *Spec) { s.Cron = "* * * *" }, `invalid cron expression "* * * *"`},
		{func(s *Spec) { s.Cron = "@every 5m" }, `invalid cron expression "@every 5m": @every is not supported`},
		{func(s *Spec) { s.Cron = "CRON_TZ=UTC 0 * * * *" }, `give the time zone separately`},
		{func(s *Spec) { s.Cron = "0 0 30 2 *" }, `cron expression "0 0 30 2 *" never fires`},
		{func(s *Spec) { s.In = "-5m" }, `duration "-5m" is not in the future`},
		{func(s *Spec) { s.In = "soon" }, `invalid duration "soon"`},
		{func(s *Spec) { s.At = "2020-01-01T00:00:00Z" }, `time "2020-01-01T00:00:00Z" is in the past`},
		{func(s *Spec) { s.At = "2026-03-02 09:00"; s.TZ = "UTC" }, `time "2026-03-02 09:00" is in the past`},
		{func(s *Spec) { s.At = "25:00" }, `invalid time "25:00"`},
		{func(s *Spec) { s.Cron = "@daily"; s.TZ = "Mars/Olympus" }, `unknown time zone "Mars/Olympus"`},
		{func(s *Spec) { s.Cron = "@daily"; s.Name = "a b" }, `invalid job name "a b"`},
		{func(s *Spec) { s.Cron = "@daily"; s.In = "5m" }, `exactly one schedule`},
		{func(s *Spec) {}, `exactly one schedule`},
		{func(s *Spec) { s.Cron = "@daily"; s.Missed = "twice" }, `invalid missed-run policy "twice"`},
		{func(s *Spec) { s.Cron = "@daily"; s.Prompt = " " }, `the prompt is empty`},
		{func(s *Spec) { s.Cron = "@daily"; s.New = true }, `not both`},
		{func(s *Spec) { s.Cron = "@daily"; s.Session = ""; s.Keep = true }, `give a session`},
		{func(s *Spec) { s.Cron = "@daily"; s.Template = "coder" }, `apply to a fresh session`},
	} {
		s := base
		tc.mod(&s)
		_, err := s.Job(now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", s, err, tc.want)
		}
	}
}

func TestSpecSchedules(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	now := t0 // 11:00:30 in Paris
	for _, tc := range []struct {
		s    Spec
		want time.Time
	}{
		{Spec{Cron: "0 12 * * *", TZ: "Europe/Paris"}, time.Date(2026, 3, 2, 12, 0, 0, 0, paris)},
		{Spec{Cron: "0 9 * * *", TZ: "Asia/Tokyo"}, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
		{Spec{Cron: "@hourly", TZ: "UTC"}, time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)},
		{Spec{Cron: "*/10 * * * * *", TZ: "UTC"}, time.Date(2026, 3, 2, 10, 0, 40, 0, time.UTC)},
		{Spec{Cron: "0 0 1 1 * 2030", TZ: "UTC"}, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Spec{In: "20m"}, t0.Add(20 * time.Minute)},
		{Spec{At: "2026-03-02T12:00:00+01:00"}, time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)},
		{Spec{At: "2026-03-02 12:00", TZ: "Europe/Paris"}, time.Date(2026, 3, 2, 12, 0, 0, 0, paris)},
		{Spec{At: "11:30", TZ: "Europe/Paris"}, time.Date(2026, 3, 2, 11, 30, 0, 0, paris)},
		{Spec{At: "11:00", TZ: "Europe/Paris"}, time.Date(2026, 3, 3, 11, 0, 0, 0, paris)}, // passed today: tomorrow
	} {
		s := tc.s
		s.Name, s.Prompt, s.Session = "j", "p", "s"
		j, err := s.Job(now)
		if err != nil {
			t.Errorf("%+v: %v", tc.s, err)
			continue
		}
		if !j.Next.Equal(tc.want) {
			t.Errorf("%+v: next %s, want %s", tc.s, j.Next, tc.want.UTC())
		}
		if j.Missed != MissedOnce {
			t.Errorf("default missed policy %q", j.Missed)
		}
	}
}

// planJob plans a job created at created with the policy, ticked at now.
func planJob(t *testing.T, expr, tz, missed string, created, now time.Time, grace time.Duration) (Job, []time.Time, int) {
	t.Helper()
	j, err := Spec{Name: "j", Cron: expr, TZ: tz, Missed: missed, Prompt: "p", Target: Target{Session: "s"}}.Job(created)
	if err != nil {
		t.Fatal(err)
	}
	due, skipped, err := j.plan(now, grace)
	if err != nil {
		t.Fatal(err)
	}
	return j, due, skipped
}

func TestMissedPolicies(t *testing.T) {
	created := time.Date(2026, 3, 2, 9, 59, 0, 0, time.UTC)
	h := func(n int) time.Time { return time.Date(2026, 3, 2, 10+n, 0, 0, 0, time.UTC) }
	down := h(4).Add(30 * time.Minute) // hourly job, scheduler down from 10:00 to 14:30
	for _, tc := range []struct {
		missed  string
		grace   time.Duration
		now     time.Time
		due     []time.Time
		skipped int
	}{
		{MissedOnce, time.Hour, down, []time.Time{h(4)}, 4},
		{MissedOnce, 10 * time.Minute, down, nil, 5},
		{MissedSkip, time.Hour, down, nil, 5},
		{MissedAll, time.Hour, down, []time.Time{h(0), h(1), h(2), h(3), h(4)}, 0},
		// on time: every policy fires
		{MissedSkip, time.Hour, h(0).Add(30 * time.Second), []time.Time{h(0)}, 0},
		{MissedOnce, 0, h(0).Add(30 * time.Second), []time.Time{h(0)}, 0},
		{MissedAll, 0, h(0), []time.Time{h(0)}, 0},
		// not due yet
		{MissedAll, 0, h(0).Add(-time.Second), nil, 0},
	} {
		j, due, skipped := planJob(t, "0 * * * *", "UTC", tc.missed, created, tc.now, tc.grace)
		if !sameTimes(due, tc.due) || skipped != tc.skipped {
			t.Errorf("%s grace %s at %s: due %v skipped %d, want %v %d", tc.missed, tc.grace, tc.now.Format("15:04:05"), due, skipped, tc.due, tc.skipped)
		}
		if !tc.now.Before(h(0)) && !j.Next.Equal(h(0).Add(time.Duration(tc.now.Sub(h(0)).Hours()+1)*time.Hour).Truncate(time.Hour)) {
			t.Errorf("%s at %s: next %s", tc.missed, tc.now.Format("15:04:05"), j.Next)
		}
	}
}

func TestMissedAllIsBounded(t *testing.T) {
	created := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	now := created.Add(2 * time.Hour) // every second for two hours: 7200 due times
	j, due, skipped := planJob(t, "* * * * * *", "UTC", MissedAll, created, now, 0)
	if len(due) != MaxCatchUp || skipped != 7200-MaxCatchUp || !due[len(due)-1].Equal(now) {
		t.Errorf("due %d (last %s), skipped %d", len(due), due[len(due)-1], skipped)
	}
	if !j.Next.Equal(now.Add(time.Second)) {
		t.Errorf("next %s", j.Next)
	}
	// Down for two days: the walk jumps, and still lands on the latest.
	now = created.Add(48 * time.Hour)
	j, due, _ = planJob(t, "* * * * * *", "UTC", MissedOnce, created, now, time.Hour)
	if len(due) != 1 || !due[0].Equal(now) || !j.Next.Equal(now.Add(time.Second)) {
		t.Errorf("after two days: due %v, next %s", due, j.Next)
	}
}

func sameTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// fires walks a job from start to end, ticking every step, and returns
// the due times it fired.
func fires(t *testing.T, expr, tz string, start, end time.Time, step time.Duration) []time.Time {
	t.Helper()
	j, err := Spec{Name: "j", Cron: expr, TZ: tz, Prompt: "p", Target: Target{Session: "s"}}.Job(start)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for now := start; !now.After(end); now = now.Add(step) {
		due, _, err := j.plan(now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, due...)
	}
	return out
}

func TestDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	wall := func(ts []time.Time) []string {
		var s []string
		for _, x := range ts {
			s = append(s, x.In(ny).Format("01-02 15:04 MST"))
		}
		return s
	}
	// Clocks go back on 2025-11-02 at 02:00 EDT: 01:00-02:00 happens twice.
	got := wall(fires(t, "30 1 * * *", "America/New_York", time.Date(2025, 11, 1, 12, 0, 0, 0, ny), time.Date(2025, 11, 3, 12, 0, 0, 0, ny), time.Minute))
	if strings.Join(got, ",") != "11-02 01:30 EDT,11-03 01:30 EST" {
		t.Errorf("daily 01:30 across the fall change fired at %v", got)
	}
	// An hourly job fires by the clock, each time once.
	got = wall(fires(t, "0 * * * *", "America/New_York", time.Date(2025, 11, 2, 0, 30, 0, 0, ny), time.Date(2025, 11, 2, 3, 30, 0, 0, ny), time.Minute))
	if strings.Join(got, ",") != "11-02 01:00 EDT,11-02 02:00 EST,11-02 03:00 EST" {
		t.Errorf("hourly across the fall change fired at %v", got)
	}
	// Clocks go forward on 2025-03-09 at 02:00 EST: 02:30 does not exist
	// that day, and the job skips it (gronx's behaviour, documented).
	got = wall(fires(t, "30 2 * * *", "America/New_York", time.Date(2025, 3, 8, 12, 0, 0, 0, ny), time.Date(2025, 3, 10, 12, 0, 0, 0, ny), time.Minute))
	if strings.Join(got, ",") != "03-10 02:30 EDT" {
		t.Errorf("daily 02:30 across the spring change fired at %v", got)
	}
	got = wall(fires(t, "0 * * * *", "America/New_York", time.Date(2025, 3, 9, 0, 30, 0, 0, ny), time.Date(2025, 3, 9, 3, 30, 0, 0, ny), time.Minute))
	if strings.Join(got, ",") != "03-09 01:00 EST,03-09 03:00 EDT" {
		t.Errorf("hourly across the spring change fired at %v", got)
	}
}

func TestZones(t *testing.T) {
	// The same expression fires at different instants in different zones.
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	for tz, want := range map[string]string{
		"UTC":              "2026-06-01T09:00:00Z",
		"Asia/Tokyo":       "2026-06-02T00:00:00Z",
		"America/New_York": "2026-06-01T13:00:00Z",
		"Asia/Kolkata":     "2026-06-01T03:30:00Z",
	} {
		mustZone(t, tz)
		got := fires(t, "0 9 * * *", tz, start, end, time.Minute)
		if len(got) != 1 || got[0].UTC().Format(time.RFC3339) != want {
			t.Errorf("%s: fired at %v, want %s", tz, got, want)
		}
	}
}

func TestTickFiresIntoTheQueue(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "hourly", Cron: "0 * * * *", TZ: "UTC"})
	if rep := e.tick(); len(rep.Fired) != 0 || !rep.Next.Equal(time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("early tick: %+v", rep)
	}
	e.clk.Set(time.Date(2026, 3, 2, 11, 0, 1, 0, time.UTC))
	rep := e.tick()
	if len(rep.Fired) != 1 || rep.Fired[0].Item != "q1" || rep.Fired[0].Session != "main" {
		t.Fatalf("tick: %+v", rep)
	}
	e.tick() // the same due time never fires twice
	items := e.items("hourly")
	if len(items) != 1 || items[0].Prompt != "run hourly" || items[0].Session != "main" || !strings.HasPrefix(items[0].Source, "cron:hourly/f") {
		t.Fatalf("items: %+v", items)
	}
	j := e.job("hourly")
	if j.Runs != 1 || j.Last == nil || j.Last.Item != "q1" || j.Last.State != queue.Queued || !j.Next.Equal(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("job after fire: %+v last %+v", j, j.Last)
	}
	// The last result follows the item.
	ctx := context.Background()
	it, _, _, _, err := e.p.q.Claim(ctx, "main", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.q.Finish(ctx, it.ID, func(i *queue.Item) { i.State = queue.Done }); err != nil {
		t.Fatal(err)
	}
	e.tick()
	if j := e.job("hourly"); j.Last.State != queue.Done {
		t.Errorf("last state %q, want done", j.Last.State)
	}
	if len(e.pending()) != 0 {
		t.Errorf("intents left: %+v", e.pending())
	}
}

func TestOneShots(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "soon", In: "20m"})
	e.add(Spec{Name: "late", In: "10m"})
	e.clk.Add(19 * time.Minute)
	if rep := e.tick(); len(rep.Fired) != 1 || rep.Fired[0].Job != "late" {
		t.Fatalf("at 19m: %+v", rep)
	}
	if !e.gone("late") {
		t.Error("a one-shot job that fired is still there")
	}
	// Down for two hours: beyond the grace window, soon is skipped and removed.
	e.clk.Add(2 * time.Hour)
	rep := e.tick()
	if len(rep.Fired) != 0 || len(rep.Skipped) != 1 || !rep.Skipped[0].Removed {
		t.Fatalf("after downtime: %+v", rep)
	}
	if !e.gone("soon") || len(e.items("soon")) != 0 {
		t.Error("a missed one-shot job fired or stayed")
	}
}

func TestConfigJobs(t *testing.T) {
	e := newEnv(t, t0)
	cfg := config.Default().Cron
	cfg.Jobs = map[string]config.CronJob{
		"report":  {Cron: "0 11 * * *", TZ: "UTC", Session: "main", Prompt: "write the report"},
		"once":    {At: "2026-03-02T10:30:00Z", New: true, Prompt: "once only"},
		"clash":   {Cron: "@daily", Session: "main", Prompt: "from config"},
		"removed": {Cron: "@daily", Session: "main", Prompt: "gone soon"},
	}
	e.add(Spec{Name: "clash", Cron: "@hourly"})
	e.s.Config = &cfg
	rep := e.tick()
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "takes the place") {
		t.Errorf("warnings: %v", rep.Warnings)
	}
	sn, _, err := e.s.Store.List(context.Background(), nil, e.clk.Now())
	if err != nil || len(sn.Jobs) != 4 {
		t.Fatalf("jobs %+v: %v", sn.Jobs, err)
	}
	for _, j := range sn.Jobs {
		if j.Source != SourceConfig {
			t.Errorf("%s: source %s", j.Name, j.Source)
		}
	}
	// The one-shot fires and stays (as done), so the config does not bring it back.
	e.clk.Set(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
	if rep := e.tick(); len(rep.Fired) != 1 || rep.Fired[0].Job != "once" || !strings.HasPrefix(rep.Fired[0].Session, "cron-once-") {
		t.Fatalf("one-shot: %+v", rep)
	}
	e.tick()
	if j := e.job("once"); !j.Done || len(e.items("once")) != 1 {
		t.Errorf("config one-shot after firing: %+v, %d items", j, len(e.items("once")))
	}
	// A changed definition keeps the history; a dropped job goes.
	e.clk.Set(time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC))
	e.tick()
	delete(cfg.Jobs, "removed")
	r := cfg.Jobs["report"]
	r.Prompt = "write the long report"
	cfg.Jobs["report"] = r
	e.tick()
	j := e.job("report")
	if j.Prompt != "write the long report" || j.Runs != 1 || j.Last == nil || !j.Next.Equal(time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("redefined job: %+v", j)
	}
	if !e.gone("removed") {
		t.Error("a job dropped from the config stays")
	}
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC"})
	ctx := context.Background()
	if _, err := e.s.Store.SetPaused(ctx, "m", true, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(10 * time.Minute)
	if rep := e.tick(); len(rep.Fired) != 0 || !rep.Next.IsZero() {
		t.Fatalf("paused job: %+v", rep)
	}
	if _, err := e.s.Store.SetPaused(ctx, "m", false, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if rep := e.tick(); len(rep.Fired) != 0 { // what was missed while paused does not fire
		t.Fatalf("resumed job fired its paused times: %+v", rep)
	}
	e.clk.Add(time.Minute)
	if rep := e.tick(); len(rep.Fired) != 1 {
		t.Fatalf("resumed job: %+v", rep)
	}
}

func TestFireNow(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "d", Cron: "@daily", TZ: "UTC"})
	e.add(Spec{Name: "one", In: "1h"})
	ctx := context.Background()
	before := e.job("d").Next
	f, err := e.s.FireNow(ctx, "d")
	if err != nil || f.Item != "q1" || !f.Manual {
		t.Fatalf("fire: %+v %v", f, err)
	}
	if j := e.job("d"); !j.Next.Equal(before) || j.Last.Item != "q1" {
		t.Errorf("a manual fire changed the schedule: %+v", j)
	}
	if _, err := e.s.FireNow(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if !e.gone("one") {
		t.Error("a one-shot fired by hand stays")
	}
	e.clk.Add(2 * time.Hour)
	if rep := e.tick(); len(rep.Fired) != 0 {
		t.Errorf("a one-shot fired by hand fired again: %+v", rep)
	}
	if _, err := e.s.FireNow(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("fire of a missing job: %v", err)
	}
}

func TestPushErrors(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC"})
	e.clk.Add(time.Minute)
	e.p.fail = errors.New("queue.db is locked")
	rep := e.tick()
	if len(rep.Retrying) != 1 || rep.Retry.IsZero() || len(e.pending()) != 1 {
		t.Fatalf("transient failure: %+v", rep)
	}
	rep = e.tick() // second attempt fails too
	if len(rep.Retrying) != 1 {
		t.Fatalf("second attempt: %+v", rep)
	}
	e.p.fail = nil
	rep = e.tick()
	if len(rep.Fired) != 1 || rep.Fired[0].Item == "" || len(e.pending()) != 0 || len(e.items("m")) != 1 {
		t.Fatalf("retry: %+v", rep)
	}
	// A permanent error is recorded at once.
	e.p.fail = Permanent(errors.New(`no session "main"`))
	e.clk.Add(time.Minute)
	rep = e.tick()
	if len(rep.Fired) != 1 || rep.Fired[0].State != StateError || len(e.pending()) != 0 {
		t.Fatalf("permanent failure: %+v", rep)
	}
	if j := e.job("m"); j.Last.State != StateError || !strings.Contains(j.Last.Error, "no session") {
		t.Errorf("last result %+v", j.Last)
	}
}

func TestFreshSessionsAreRemovedAfterTheirRun(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "fresh", Cron: "* * * * *", TZ: "UTC", Target: Target{New: true}})
	e.add(Spec{Name: "kept", Cron: "* * * * *", TZ: "UTC", Target: Target{New: true, Keep: true}})
	e.clk.Add(time.Minute)
	rep := e.tick()
	if len(rep.Fired) != 2 {
		t.Fatalf("%+v", rep)
	}
	var sess string
	for _, f := range rep.Fired {
		if f.Job == "fresh" {
			sess = f.Session
		}
	}
	if !strings.HasPrefix(sess, "cron-fresh-") {
		t.Fatalf("fresh session name %q", sess)
	}
	if rep := e.tick(); rep.Waiting != 1 || len(rep.Cleaned) != 0 {
		t.Fatalf("cleanup before the run ended: %+v", rep)
	}
	ctx := context.Background()
	it, _, _, _, _ := e.p.q.Claim(ctx, sess, time.Now())
	if _, err := e.p.q.Finish(ctx, it.ID, func(i *queue.Item) { i.State = queue.Failed }); err != nil {
		t.Fatal(err)
	}
	rep = e.tick()
	if len(rep.Cleaned) != 1 || rep.Cleaned[0].Session != sess || len(e.p.removed) != 1 {
		t.Fatalf("cleanup: %+v removed %v", rep, e.p.removed)
	}
	if e.tick(); len(e.p.removed) != 1 {
		t.Errorf("removed twice: %v", e.p.removed)
	}
}

// Many schedulers in one process tick at once, on one clock that moves on:
// each due time fires exactly once.
func TestNeverDoubleFireGoroutines(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC", Missed: MissedAll})
	e.add(Spec{Name: "s", Cron: "*/20 * * * * *", TZ: "UTC", Missed: MissedAll})
	const steps = 40 // 40 x 15 s = 10 minutes
	var wg sync.WaitGroup
	for range 6 {
		s := e.scheduler()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range steps * 3 {
				if _, err := s.Tick(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range steps {
		e.clk.Add(15 * time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	e.tick()
	if n := len(e.items("m")); n != 10 {
		t.Errorf("minutely job: %d items in 10 minutes, want 10", n)
	}
	if n := len(e.items("s")); n != 30 {
		t.Errorf("20-second job: %d items in 10 minutes, want 30", n)
	}
}

func childCmd(t *testing.T, e *env, mode string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"CRONJOB_TEST_CHILD=" + mode, "CRONJOB_TEST_STATE=" + e.st.Root}, env...)...)
	return cmd
}

// Several processes tick the same state at once, each walking the clock
// from t0 to ten minutes later: each due time fires exactly once.
func TestNeverDoubleFireProcesses(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC", Missed: MissedAll})
	e.add(Spec{Name: "o", Cron: "* * * * *", TZ: "UTC"})
	var nows []string
	for d := time.Duration(0); d <= 10*time.Minute; d += 5 * time.Second {
		nows = append(nows, strconv.FormatInt(t0.Add(d).Unix(), 10))
	}
	var cmds []*exec.Cmd
	for range 4 {
		c := childCmd(t, e, "ticks", "CRONJOB_TEST_NOWS="+strings.Join(nows, " "))
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	e.clk.Set(t0.Add(10 * time.Minute))
	e.tick()
	for _, job := range []string{"m", "o"} {
		items := e.items(job)
		seen := map[string]bool{}
		for _, it := range items {
			if seen[it.Source] {
				t.Errorf("%s: fire %s pushed twice", job, it.Source)
			}
			seen[it.Source] = true
		}
		if len(items) != 10 {
			t.Errorf("%s: %d items in 10 minutes, want 10", job, len(items))
		}
	}
}

// A scheduler killed between writing its intents and pushing loses
// nothing: the next tick pushes each intent once.
func TestKillBetweenIntentAndPush(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC"})
	due := t0.Add(30 * time.Second) // 10:01:00
	c := childCmd(t, e, "kill-after-intent", "CRONJOB_TEST_NOW="+strconv.FormatInt(due.Unix(), 10))
	if err := c.Run(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: %v", err)
	}
	if p := e.pending(); len(p) != 1 || !p[0].Due.Equal(due) {
		t.Fatalf("intents after the kill: %+v", p)
	}
	if n := len(e.items("m")); n != 0 {
		t.Fatalf("%d items before the next tick", n)
	}
	e.clk.Set(due.Add(5 * time.Second))
	rep := e.tick()
	if len(rep.Fired) != 1 || !rep.Fired[0].Due.Equal(due) || len(e.items("m")) != 1 || len(e.pending()) != 0 {
		t.Fatalf("next tick: %+v", rep)
	}
	e.tick()
	if n := len(e.items("m")); n != 1 {
		t.Errorf("%d items, want 1", n)
	}
	if j := e.job("m"); j.Last == nil || j.Last.Item != e.items("m")[0].ID {
		t.Errorf("last result %+v", j.Last)
	}
}

// A scheduler killed after pushing, before recording, loses nothing and
// pushes nothing twice: the next tick finds the item by its source.
func TestKillBetweenPushAndRecord(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "m", Cron: "* * * * *", TZ: "UTC"})
	due := t0.Add(30 * time.Second)
	c := childCmd(t, e, "kill-after-push", "CRONJOB_TEST_NOW="+strconv.FormatInt(due.Unix(), 10))
	if err := c.Run(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child: %v", err)
	}
	if len(e.pending()) != 1 || len(e.items("m")) != 1 {
		t.Fatalf("after the kill: %d intents, %d items", len(e.pending()), len(e.items("m")))
	}
	e.clk.Set(due.Add(5 * time.Second))
	rep := e.tick()
	if len(rep.Fired) != 1 || len(e.items("m")) != 1 || len(e.pending()) != 0 || e.p.pushes != 0 {
		t.Fatalf("next tick: %+v, %d items, %d pushes", rep, len(e.items("m")), e.p.pushes)
	}
	if j := e.job("m"); j.Last == nil || j.Last.Item != e.items("m")[0].ID || j.Runs != 1 {
		t.Errorf("job %+v", j)
	}
}

func TestUpcoming(t *testing.T) {
	e := newEnv(t, t0)
	e.add(Spec{Name: "a", Cron: "0 * * * *", TZ: "UTC"})
	e.add(Spec{Name: "b", Cron: "30 * * * *", TZ: "UTC"})
	e.add(Spec{Name: "c", In: "45m"})
	e.add(Spec{Name: "p", Cron: "* * * * *", TZ: "UTC"})
	if _, err := e.s.Store.SetPaused(context.Background(), "p", true, t0); err != nil {
		t.Fatal(err)
	}
	sn, _, err := e.s.Store.List(context.Background(), nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range sn.Upcoming(t0, 5) {
		got = append(got, u.Job+"@"+u.Time.Format("15:04"))
	}
	if want := "b@10:30,c@10:45,a@11:00,b@11:30,a@12:00"; strings.Join(got, ",") != want {
		t.Errorf("upcoming %v, want %s", got, want)
	}
}

func FuzzCheckCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "@daily", "0 0 30 2 *", "*/5 1-3 * JAN MON#2", "0 0 L * *", "61 * * * *", "0 0 1 1 * 2020"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		next, err := CheckCron(expr, t0, time.UTC)
		if err == nil && !next.After(t0) {
			t.Errorf("%q: next %s is not after %s", expr, next, t0)
		}
	})
}

package heartbeat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
)

// A beat goes through the three tiers: a checklist, a decision that acts,
// an action queued in the heartbeat session, created on first use.
func TestThreeTiers(t *testing.T) {
	r := newRig(t)
	r.instructions("# Checks\n- [ ] the nightly build is green\n")
	r.act("fix the nightly build")
	b := r.tick()
	expect(t, b, TierAction, OutcomeAct, "", "queued q1 in session heartbeat: work to do")
	if b.Item != "q1" || b.CostUSD != 0.01 || b.Decision == nil || !b.Decision.Act {
		t.Fatalf("beat = %+v", b)
	}
	p := r.prompt()
	for _, want := range []string{"the nightly build is green", `"act": true`, "Monday 2026-03-02 10:00 UTC", "Recent actions: none."} {
		if !strings.Contains(p, want) {
			t.Errorf("the decision's prompt lacks %q:\n%s", want, p)
		}
	}
	argv, _ := os.ReadFile(filepath.Join(r.dir, "argv"))
	for _, want := range []string{"--tools\n\n", "--model\nhaiku\n", "--max-turns\n1\n", "--system-prompt\n", "--no-session-persistence"} {
		if !strings.Contains(string(argv), want) {
			t.Errorf("the decision's argv lacks %q:\n%s", want, argv)
		}
	}
	it, err := r.e.queue.Get(r.ctx, "q1")
	if err != nil {
		t.Fatal(err)
	}
	if it.Session != "heartbeat" || it.Source != Source || it.State != queue.Queued ||
		!strings.HasSuffix(it.Prompt, "\n\nfix the nightly build") || !strings.Contains(it.Prompt, "(work to do)") {
		t.Errorf("item = %+v", it)
	}
	rec, err := r.e.sessions.Get(r.ctx, "heartbeat")
	if err != nil || rec.User != Owner || rec.Dir != os.Getenv("HOME") {
		t.Errorf("session = %+v, %v", rec, err)
	}
	s := r.state()
	if s.DayActions != 1 || s.DayDecisions != 1 || s.DayDecisionCost != 0.01 || !s.LastAction.Equal(monday10) ||
		!s.NextBeat.Equal(monday10.Add(30*time.Minute)) || s.Stretch != 1 {
		t.Errorf("state = %+v", s)
	}
	// The outcome is read back once the worker is done.
	r.clk.Add(time.Minute)
	r.finish(queue.Done, "", 0.25)
	st, err := r.e.Status(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Today.CostUSD != 0.26 || st.Today.Actions != 1 || st.LastBeat == nil || st.LastBeat.ItemState != queue.Done || st.LastBeat.ActionCostUSD != 0.25 {
		t.Errorf("status = %+v, last beat %+v", st, st.LastBeat)
	}
	if log := readEvents(t, r); !strings.Contains(log, `"type":"heartbeat.beat"`) || !strings.Contains(log, `"type":"prompt.queued"`) {
		t.Errorf("events:\n%s", log)
	}
}

func readEvents(t *testing.T, r *rig) string {
	b, _ := os.ReadFile(r.e.State.Path("events.jsonl"))
	return string(b)
}

// Nothing to do stops at the gate without a model call; no-op beats stretch
// the interval x2, x4, x8 from the second in a row, and an action resets it.
func TestGateSkipAndStretch(t *testing.T) {
	r := newRig(t)
	want := []time.Duration{30, 60, 120, 240, 240}
	for i, m := range want {
		b := r.tick()
		expect(t, b, TierGate, OutcomeSkip, "", "nothing to do: the instructions are missing and there are no gates")
		s := r.state()
		if !s.NextBeat.Equal(r.clk.Now().Add(m * time.Minute)) {
			t.Fatalf("beat %d: next beat in %s, want %dm", i+1, s.NextBeat.Sub(r.clk.Now()), m)
		}
		if b := r.tick(); b.Outcome != OutcomeNotDue || !b.Next.Equal(s.NextBeat) {
			t.Fatalf("tick before the next beat = %+v", b)
		}
		r.clk.Set(s.NextBeat)
	}
	if r.runs() != 0 {
		t.Fatalf("the decision ran %d times for nothing to do", r.runs())
	}
	r.instructions("<!-- nothing here -->\n# Heading only\n\n")
	expect(t, r.tick(), TierGate, OutcomeSkip, "", "the instructions are empty")
	r.clk.Set(r.state().NextBeat)
	r.instructions("- check the inbox\n")
	r.act("answer the mail")
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q1")
	s := r.state()
	if s.Stretch != 1 || s.Noops != 0 || !s.NextBeat.Equal(r.clk.Now().Add(30*time.Minute)) {
		t.Errorf("an action must reset the stretch: %+v", s)
	}
	st, _ := r.e.Status(r.ctx)
	if st.Instructions.State != "ok" || st.Instructions.Lines != 1 {
		t.Errorf("instructions status = %+v", st.Instructions)
	}
}

// A beat while the session has an item is skipped without advancing the
// schedule or using the trigger, and logged once.
func TestBusySkipKeepsSchedule(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.act("one")
	r.tick()
	r.clk.Add(time.Hour)
	before := r.state()
	r.trigger(UrgencyNow, false)
	for i := 0; i < 3; i++ {
		b := r.tick()
		expect(t, b, TierValve, OutcomeBusy, "", "the heartbeat session heartbeat is busy (q1 queued); the schedule is kept")
	}
	after := r.state()
	if !after.NextBeat.Equal(before.NextBeat) || !after.LastBeat.Equal(before.LastBeat) || after.Trigger == nil {
		t.Errorf("a busy beat changed the schedule: before %+v after %+v", before, after)
	}
	log, _ := r.e.Beats(r.ctx, 10)
	if len(log) != 2 || log[1].Outcome != OutcomeBusy {
		t.Errorf("log = %+v", log)
	}
	if r.runs() != 1 {
		t.Errorf("decision runs = %d", r.runs())
	}
	// Once the item is done the pending trigger beats.
	r.finish(queue.Done, "", 0)
	r.act("two")
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q2")
	if r.state().Trigger != nil {
		t.Error("the trigger was not used")
	}
}

// Each valve, closed, stops the beat before the gate with its reason, and
// moves the next beat to when it opens.
func TestValves(t *testing.T) {
	f := 0.9
	half := 0.5
	tests := []struct {
		name   string
		setup  func(r *rig)
		valve  string
		reason string
		next   time.Time // zero: interval
	}{
		{"auth", func(r *rig) {
			r.set(func(s *State) {
				s.AuthPaused, s.AuthReason, s.AuthSince = true, "Invalid API key · Please run /login", monday10
			})
		}, ValveAuth, "after an authentication or billing error: Invalid API key", monday10.Add(Recheck)},
		{"pause", func(r *rig) { r.e.Pause(r.ctx, 2*time.Hour, "", "cli") },
			ValvePause, "pause: paused until 2026-03-02 12:00 UTC (by cli)", monday10.Add(2 * time.Hour)},
		{"pause forever", func(r *rig) { r.e.Pause(r.ctx, 0, "holiday", "cli") },
			ValvePause, "paused (holiday) until ce-heartbeat resume", monday10.Add(Recheck)},
		{"active hours", func(r *rig) { r.hb().ActiveHours = "12:00-13:00" },
			ValveActiveHours, "outside active hours 12:00-13:00 (UTC); it opens at 2026-03-02 12:00 UTC", monday10.Add(2 * time.Hour)},
		{"active days", func(r *rig) { r.hb().ActiveDays = []string{"wed"}; r.hb().ActiveHours = "08:00-22:00" },
			ValveActiveHours, "outside active hours 08:00-22:00 on wed (UTC); it opens at 2026-03-04 08:00 UTC", monday10.Add(46 * time.Hour)},
		{"breaker", func(r *rig) {
			r.set(func(s *State) { s.Failures, s.BackoffUntil = 3, monday10.Add(20*time.Minute) })
		}, ValveBreaker, "tripped after 3 failed actions in a row; the next action may run at 2026-03-02 10:20 UTC", monday10.Add(20 * time.Minute)},
		{"usage warning", func(r *rig) {
			r.e.sessions.SetRateLimit(r.ctx, session.RateLimit{Account: "default", Status: "allowed_warning", Utilization: &f, ResetsAt: monday10.Add(3 * time.Hour), Type: "five_hour", Seen: monday10})
		}, ValveUsage, "usage: rate limit warning at 90% (usage_threshold 80%) (five_hour) until 2026-03-02 13:00 UTC", monday10.Add(3 * time.Hour)},
		{"usage rejected", func(r *rig) {
			r.e.sessions.SetRateLimit(r.ctx, session.RateLimit{Account: "default", Status: "rejected", ResetsAt: monday10.Add(time.Hour), Seen: monday10})
		}, ValveUsage, "rate limit rejected until 2026-03-02 11:00 UTC", monday10.Add(time.Hour)},
		{"daily actions", func(r *rig) { r.set(func(s *State) { s.Day, s.DayActions = "2026-03-02", 12 }) },
			ValveDailyActions, "cap reached: 12 of 12 actions today; the count starts again at 2026-03-03 00:00 UTC", monday10.Add(14 * time.Hour)},
		{"daily cost", func(r *rig) { r.set(func(s *State) { s.Day, s.DayDecisionCost = "2026-03-02", 2.5 }) },
			ValveDailyCost, "cap reached: $2.5000 of $2.00 spent today", monday10.Add(14 * time.Hour)},
		{"min interval", func(r *rig) { r.set(func(s *State) { s.LastAction = monday10.Add(-5 * time.Minute) }) },
			ValveMinInterval, "last action at 2026-03-02 09:55 UTC; the next may come at 2026-03-02 10:10 UTC (min_interval 15m)", monday10.Add(10 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.instructions("- check\n")
			r.act("x")
			tc.setup(r)
			b := r.tick()
			expect(t, b, TierValve, OutcomeBlocked, tc.valve, tc.reason)
			if r.runs() != 0 {
				t.Error("a closed valve must stop the beat before the decision")
			}
			next := tc.next
			if next.IsZero() {
				next = monday10.Add(30 * time.Minute)
			}
			if s := r.state(); !s.NextBeat.Equal(next) || s.Noops != 0 {
				t.Errorf("next beat %s, want %s (noops %d)", s.NextBeat, next, s.Noops)
			}
			st, err := r.e.Status(r.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Waiting != tc.valve {
				t.Errorf("status waiting = %q, want %q", st.Waiting, tc.valve)
			}
		})
	}
	// Open valves: a warning under the threshold, a reset in the past, a
	// window we are in.
	r := newRig(t)
	r.instructions("- check\n")
	r.answer(`{"act":false,"reason":"all fine"}`, 0.001)
	r.hb().ActiveHours, r.hb().ActiveDays = "22:00-10:30", []string{"mon"}
	r.e.sessions.SetRateLimit(r.ctx, session.RateLimit{Account: "a", Status: "allowed_warning", Utilization: &half, ResetsAt: monday10.Add(time.Hour), Seen: monday10})
	r.e.sessions.SetRateLimit(r.ctx, session.RateLimit{Account: "b", Status: "rejected", ResetsAt: monday10.Add(-time.Minute), Seen: monday10.Add(-time.Hour)})
	expect(t, r.tick(), TierDecision, OutcomeSkip, "", "decided not to act: all fine")
	st, _ := r.e.Status(r.ctx)
	for _, v := range st.Valves {
		if !v.Open {
			t.Errorf("valve %s closed: %s", v.Name, v.Detail)
		}
	}
	if len(st.Valves) != 8 {
		t.Errorf("status shows %d valves", len(st.Valves))
	}
}

// now bypasses min_interval and the stretch, normal does not; neither
// passes the pause; force passes all but auth.
func TestTriggers(t *testing.T) {
	r := newRig(t)
	// Four no-op beats: x8.
	for i := 0; i < 4; i++ {
		r.tick()
		r.clk.Set(r.state().NextBeat)
	}
	r.tick()
	s := r.state()
	if s.Stretch != MaxStretch {
		t.Fatalf("stretch = %d", s.Stretch)
	}
	last := r.clk.Now()
	r.clk.Add(10 * time.Minute)
	if due := r.trigger(UrgencyNormal, false); !due.Equal(last.Add(30 * time.Minute)) {
		t.Errorf("normal trigger due %s, want one interval after the last beat %s", due, last.Add(30*time.Minute))
	}
	if b := r.tick(); b.Outcome != OutcomeNotDue {
		t.Errorf("normal trigger beat early: %+v", b)
	}
	if due := r.trigger(UrgencyNow, false); !due.Equal(r.clk.Now()) {
		t.Errorf("now trigger due %s", due)
	}
	st, _ := r.e.Status(r.ctx)
	if st.Trigger == nil || st.Trigger.Urgency != UrgencyNow || !st.NextBeat.Equal(r.clk.Now()) {
		t.Errorf("status trigger = %+v next %s", st.Trigger, st.NextBeat)
	}
	b := r.tick()
	expect(t, b, TierGate, OutcomeSkip, "", "nothing to do")
	if b.Trigger == nil || b.Trigger.Source != "test" {
		t.Errorf("the beat does not name its trigger: %+v", b.Trigger)
	}

	// min_interval: normal waits for it, now passes it.
	r.instructions("- check\n")
	r.act("a")
	r.set(func(s *State) {
		s.LastAction, s.LastBeat = r.clk.Now().Add(-5*time.Minute), r.clk.Now().Add(-time.Hour)
	})
	r.trigger(UrgencyNormal, false)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValveMinInterval, "min_interval 15m")
	if s := r.state(); s.Trigger != nil || !s.NextBeat.Equal(r.clk.Now().Add(10*time.Minute)) {
		t.Errorf("after a blocked trigger: %+v", s)
	}
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q1")
	r.finish(queue.Done, "", 0)

	// now never passes the pause; force does, once, but never auth.
	r.e.Pause(r.ctx, 0, "", "test")
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValvePause, "paused")
	r.trigger(UrgencyNow, true)
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q2")
	r.finish(queue.Done, "", 0)
	r.trigger(UrgencyNormal, false)
	r.clk.Add(time.Hour)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValvePause, "paused")
	r.set(func(s *State) { s.AuthPaused = true })
	r.trigger(UrgencyNow, true)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValveAuth, "authentication")
}

func TestTriggerMerge(t *testing.T) {
	r := newRig(t)
	r.e.Trigger(r.ctx, TriggerRequest{Urgency: "now", Source: "a"})
	r.e.Trigger(r.ctx, TriggerRequest{Source: "b", Force: false})
	if tr := r.state().Trigger; tr == nil || tr.Urgency != UrgencyNow || tr.Source != "b" {
		t.Errorf("merged trigger = %+v", tr)
	}
	if _, err := r.e.Trigger(r.ctx, TriggerRequest{Urgency: "soon"}); err == nil || !strings.Contains(err.Error(), `unknown urgency "soon"`) {
		t.Errorf("bad urgency: %v", err)
	}
}

// N failed actions in a row open the breaker for the backoff, doubled at
// each further failure; a done action closes it.
func TestBreakerBackoff(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.hb().MinInterval = 0
	fail := func() Beat {
		r.act("try")
		b := r.tick()
		r.clk.Add(time.Minute)
		r.finish(queue.Failed, "exit status 1", 0)
		r.trigger(UrgencyNow, false)
		return b
	}
	for i := 0; i < 3; i++ {
		expect(t, fail(), TierAction, OutcomeAct, "", "queued")
	}
	b := r.tick()
	expect(t, b, TierValve, OutcomeBlocked, ValveBreaker, "tripped after 3 failed actions in a row")
	s := r.state()
	if s.Failures != 3 || !s.BackoffUntil.Equal(r.clk.Now().Add(30*time.Minute)) {
		t.Fatalf("state = failures %d backoff until %s (now %s)", s.Failures, s.BackoffUntil, r.clk.Now())
	}
	if !strings.Contains(readEvents(t, r), `"type":"heartbeat.breaker"`) {
		t.Error("no heartbeat.breaker event")
	}
	// Past the backoff, the next failure doubles it.
	r.clk.Set(s.BackoffUntil)
	expect(t, fail(), TierAction, OutcomeAct, "", "queued")
	r.tick()
	if s := r.state(); s.Failures != 4 || !s.BackoffUntil.Equal(r.clk.Now().Add(time.Hour)) {
		t.Fatalf("second backoff: failures %d until %s, now %s", s.Failures, s.BackoffUntil, r.clk.Now())
	}
	// A success closes it.
	r.clk.Set(r.state().BackoffUntil)
	r.act("works")
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued")
	r.finish(queue.Done, "", 0)
	if _, err := r.e.Reconcile(r.ctx); err != nil {
		t.Fatal(err)
	}
	if s := r.state(); s.Failures != 0 || !s.BackoffUntil.IsZero() {
		t.Errorf("after a success: %+v", s)
	}
	// A cancelled action counts for nothing.
	r.act("again")
	r.trigger(UrgencyNow, false)
	r.tick()
	r.finish(queue.Cancelled, "stopped", 0)
	r.e.Reconcile(r.ctx)
	if s := r.state(); s.Failures != 0 {
		t.Errorf("a cancelled action counted: %+v", s)
	}
}

// An authentication or billing error, from the decision or from an action,
// pauses at once; only resume (with Safety) clears it.
func TestAuthPause(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.result(map[string]any{"type": "result", "subtype": "success", "is_error": true, "api_error_status": 401,
		"result": "Invalid API key · Please run /login", "total_cost_usd": 0}, 1)
	b := r.tick()
	expect(t, b, TierDecision, OutcomeError, "", "authentication or billing error from claude: Invalid API key · Please run /login; the heartbeat is paused")
	s := r.state()
	if !s.AuthPaused || !strings.Contains(s.AuthReason, "Invalid API key") {
		t.Fatalf("state = %+v", s)
	}
	if !strings.Contains(readEvents(t, r), `"type":"heartbeat.paused"`) {
		t.Error("no heartbeat.paused event")
	}
	st, _ := r.e.Status(r.ctx)
	if st.State != "auth-paused" || st.Waiting != ValveAuth {
		t.Errorf("status = %s waiting %s", st.State, st.Waiting)
	}
	r.trigger(UrgencyNow, true)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValveAuth, "Invalid API key")
	if _, cleared, _ := r.e.Resume(r.ctx, ResumeOptions{By: "session:x"}); len(cleared) != 0 || !r.state().AuthPaused {
		t.Errorf("a plain resume cleared %v", cleared)
	}
	if s := r.state(); !s.NextBeat.Equal(r.clk.Now().Add(Recheck)) {
		t.Errorf("while auth-paused the next beat is %s, want a day later", s.NextBeat)
	}
	r.clk.Add(time.Minute)
	if _, cleared, _ := r.e.Resume(r.ctx, ResumeOptions{Safety: true, By: "cli"}); len(cleared) != 1 || cleared[0] != "auth" {
		t.Errorf("resume cleared %v", cleared)
	}
	if s := r.state(); !s.NextBeat.Equal(s.LastBeat.Add(30 * time.Minute)) {
		t.Errorf("after resume the next beat is %s, want one interval after the last beat %s", s.NextBeat, s.LastBeat)
	}

	// The action fails for billing: read back, it pauses too.
	r.act("do")
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q1")
	r.finish(queue.Failed, "Credit balance is too low", 0)
	st, _ = r.e.Status(r.ctx)
	if st.State != "auth-paused" || r.state().Failures != 0 {
		t.Errorf("after a billing error: %s, %+v", st.State, r.state())
	}
}

// A malformed answer is a skip, logged with what was wrong.
func TestMalformedDecision(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.answer("Sure! I will look into it.", 0.002)
	b := r.tick()
	expect(t, b, TierDecision, OutcomeSkip, "", "malformed decision, counted as a skip: no JSON object in the answer")
	if b.Decision == nil || b.Decision.Raw != "Sure! I will look into it." || b.CostUSD != 0.002 {
		t.Errorf("beat = %+v", b)
	}
	if s := r.state(); s.Noops != 1 || s.DayDecisionCost != 0.002 {
		t.Errorf("state = %+v", s)
	}
	log, _ := r.e.Beats(r.ctx, 5)
	if len(log) != 1 || log[0].Decision.Malformed == "" {
		t.Errorf("log = %+v", log)
	}
}

func TestParseDecision(t *testing.T) {
	good := map[string]Decision{
		`{"act":false,"reason":"fine"}`:                                       {Reason: "fine"},
		"```json\n{\"act\": true, \"reason\": \"r\", \"prompt\": \"p\"}\n```": {Act: true, Reason: "r", Prompt: "p"},
		`Here: {"act":true,"prompt":"do it","extra":1} done`:                  {Act: true, Prompt: "do it"},
	}
	for in, want := range good {
		got, err := ParseDecision(in)
		if err != nil || got != want {
			t.Errorf("ParseDecision(%q) = %+v, %v", in, got, err)
		}
	}
	bad := map[string]string{
		"":                                   "no JSON object",
		`{"act":"yes"}`:                      "not valid JSON",
		`{"reason":"x"}`:                     `no boolean "act"`,
		`{"act":true,"reason":"x"}`:          `"prompt" is empty`,
		`{"act":false} {"act":true}`:         "more than one JSON object",
		`{"act":true,"prompt":"  "}`:         `"prompt" is empty`,
		`{"act":false,"reason":"x"`:          "no JSON object",
		`{"act":null,"reason":"x"}`:          `no boolean "act"`,
		`{"act":false,"reason":["x"]}`:       "not valid JSON",
		`{"act":false,"reason":"x"}trailing`: "",
	}
	for in, want := range bad {
		_, err := ParseDecision(in)
		if want == "" {
			if err != nil {
				t.Errorf("ParseDecision(%q) = %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDecision(%q) = %v, want %q", in, err, want)
		}
	}
}

// Daily caps count actions and the day's spending (decisions and the
// session's runs), and start again at midnight in the heartbeat's zone.
func TestDailyCaps(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.hb().DailyActions = 1
	r.hb().MinInterval = 0
	r.act("one")
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q1")
	r.finish(queue.Done, "", 0.5)
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValveDailyActions, "cap reached: 1 of 1 actions today")
	r.clk.Set(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued q2")
	if s := r.state(); s.Day != "2026-03-03" || s.DayActions != 1 {
		t.Errorf("a new day: %+v", s)
	}

	r = newRig(t)
	r.instructions("- check\n")
	r.hb().DailyCostUSD = 1
	r.hb().MinInterval = 0
	r.act("one")
	r.tick() // decision 0.01
	r.finish(queue.Done, "", 0.995)
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierValve, OutcomeBlocked, ValveDailyCost, "cap reached: $1.0050 of $1.00 spent today")
	// In another zone the day, and its costs, are another.
	r.hb().Timezone = "America/Los_Angeles"
	r.clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(24 * time.Hour)) // 01:00 PST the 3rd
	r.trigger(UrgencyNow, false)
	expect(t, r.tick(), TierAction, OutcomeAct, "", "queued")
}

// A dry run reports the decision, queues nothing and keeps the schedule,
// but counts what the decision cost.
func TestDryRun(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.act("would do")
	b := r.beat(BeatOptions{DryRun: true})
	expect(t, b, TierAction, OutcomeAct, "", "dry run: would queue in session heartbeat: would do")
	if !b.DryRun || b.Item != "" {
		t.Errorf("beat = %+v", b)
	}
	s := r.state()
	if s.DayActions != 0 || !s.NextBeat.IsZero() || s.DayDecisionCost != 0.01 {
		t.Errorf("state after a dry run = %+v", s)
	}
	if items, _ := r.e.queue.List(r.ctx, queue.Filter{}); len(items) != 0 {
		t.Errorf("a dry run queued %+v", items)
	}
	if log, _ := r.e.Beats(r.ctx, 5); len(log) != 0 {
		t.Errorf("a dry run was logged: %+v", log)
	}
	r.e.Pause(r.ctx, 0, "", "t")
	expect(t, r.beat(BeatOptions{DryRun: true}), TierValve, OutcomeBlocked, ValvePause, "paused")
}

// Gates: exit 0 fires and its output reaches the decision; another exit
// or a timeout does not fire.
func TestGates(t *testing.T) {
	r := newRig(t)
	r.hb().GateTimeout = config.Duration(300 * time.Millisecond)
	r.hb().Gates = []string{"exit 3", "sleep 5; echo late", "echo disk is 97% full; pwd"}
	r.answer(`{"act":false,"reason":"seen"}`, 0)
	start := time.Now()
	b := r.tick()
	if time.Since(start) > 3*time.Second {
		t.Errorf("the gates took %s: the timeout did not kill them", time.Since(start))
	}
	expect(t, b, TierDecision, OutcomeSkip, "", "decided not to act: seen")
	if len(b.Gates) != 3 || b.Gates[0].Fired || b.Gates[0].Exit != 3 || b.Gates[1].Fired ||
		!strings.Contains(b.Gates[1].Error, "timed out") || !b.Gates[2].Fired {
		t.Fatalf("gates = %+v", b.Gates)
	}
	p := r.prompt()
	if !strings.Contains(p, "disk is 97% full\n"+os.Getenv("HOME")) || strings.Contains(p, "late") || strings.Contains(p, "<checklist") {
		t.Errorf("prompt:\n%s", p)
	}
	r.hb().Gates = []string{"false"}
	r.clk.Set(r.state().NextBeat)
	expect(t, r.tick(), TierGate, OutcomeSkip, "", "no gate fired")
}

// A decision run that fails, hangs or cannot start is an error beat: no
// stretch, no action, the schedule goes on.
func TestDecisionFailures(t *testing.T) {
	r := newRig(t)
	r.instructions("- check\n")
	r.hb().DecisionTimeout = config.Duration(300 * time.Millisecond)
	os.WriteFile(filepath.Join(r.dir, "sleep"), []byte("5"), 0o600)
	r.answer(`{"act":true,"reason":"x","prompt":"y"}`, 0)
	start := time.Now()
	expect(t, r.tick(), TierDecision, OutcomeError, "", "the decision failed: the decision run timed out after 300ms")
	if time.Since(start) > 4*time.Second {
		t.Errorf("the timeout did not kill the run (%s)", time.Since(start))
	}
	os.Remove(filepath.Join(r.dir, "sleep"))
	os.WriteFile(filepath.Join(r.dir, "out"), []byte("not json\n"), 0o600)
	os.WriteFile(filepath.Join(r.dir, "code"), []byte("2"), 0o600)
	r.clk.Set(r.state().NextBeat)
	expect(t, r.tick(), TierDecision, OutcomeError, "", "exited with status 2 without a result")
	r.result(map[string]any{"type": "result", "subtype": "error_max_turns", "is_error": true, "result": "", "total_cost_usd": 0.003}, 1)
	r.clk.Set(r.state().NextBeat)
	expect(t, r.tick(), TierDecision, OutcomeError, "", "the decision run failed: error_max_turns")
	r.e.Config().Agent.Command = filepath.Join(r.dir, "nonexistent")
	r.clk.Set(r.state().NextBeat)
	expect(t, r.tick(), TierDecision, OutcomeError, "", "cannot run")
	if s := r.state(); s.Noops != 0 || s.Stretch != 1 || s.DayDecisionCost != 0.003 {
		t.Errorf("state = %+v", s)
	}
}

func TestWindow(t *testing.T) {
	hb := config.Default().Heartbeat
	hb.ActiveHours = "22:00-06:00"
	w := newWindow(hb, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{at(23, 0), true}, {at(5, 59), true}, {at(6, 0), false}, {at(21, 59), false}, {at(22, 0), true}} {
		if got := w.active(c.t); got != c.want {
			t.Errorf("active(%s) = %v", c.t, got)
		}
	}
	if n := w.next(at(12, 0)); !n.Equal(at(22, 0)) {
		t.Errorf("next = %s", n)
	}
	hb.ActiveHours, hb.ActiveDays = "", []string{"sat"}
	w = newWindow(hb, time.UTC)
	if n := w.next(at(12, 0)); !n.Equal(time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("next saturday = %s", n)
	}
	hb.ActiveHours = "09:00-17:00"
	berlin, _ := time.LoadLocation("Europe/Berlin")
	w = newWindow(hb, berlin)
	if n := w.next(at(12, 0)); !n.Equal(time.Date(2026, 3, 7, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("next saturday 09:00 Berlin = %s", n)
	}
}

func TestInstructions(t *testing.T) {
	for in, want := range map[string]bool{
		"":                            false,
		"# Title\n\n## Sub\n":         false,
		"<!-- a\n- b -->\n# x\n":      false,
		"# Title\n- [ ] check mail\n": true,
		"plain words":                 true,
	} {
		if got := Meaningful(in); got != want {
			t.Errorf("Meaningful(%q) = %v", in, got)
		}
	}
	r := newRig(t)
	path, err := r.e.SetInstructions("- one\n")
	if err != nil || path != r.instr {
		t.Fatalf("SetInstructions = %q, %v", path, err)
	}
	in, _ := ReadInstructions(path)
	if in.State != "ok" || in.Text != "- one\n" {
		t.Errorf("read back %+v", in)
	}
	if _, err := r.e.SetInstructions(strings.Repeat("x", MaxInstructions+1)); err == nil {
		t.Error("oversized instructions accepted")
	}
}

// Busy beats and a stretched interval: the beat log keeps LogKeep entries.
func TestLogKeep(t *testing.T) {
	r := newRig(t)
	r.hb().Interval = config.Duration(time.Minute)
	for i := 0; i < LogKeep+5; i++ {
		r.trigger(UrgencyNow, false)
		r.tick()
		r.clk.Add(time.Minute)
	}
	log, _ := r.e.Beats(r.ctx, 1000)
	if len(log) != LogKeep || log[len(log)-1].Seq != LogKeep+5 {
		t.Errorf("log has %d entries, last seq %d", len(log), log[len(log)-1].Seq)
	}
}

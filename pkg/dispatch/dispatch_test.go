package dispatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/runner"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/testkit/instantagent"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
	"github.com/rs/zerolog"
)

// agentEnv makes the test binary the instant agent: the runner starts it
// as claude.
const agentEnv = "DISPATCH_TEST_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) != "" {
		os.Exit(instantagent.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// rig is a state directory with one session "s" whose runner runs in this
// process, with the test binary as its claude.
type rig struct {
	t      *testing.T
	d      *Driver
	ctx    context.Context
	runner context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, withRunner bool) *rig {
	t.Helper()
	st := statetest.New(t)
	// Specs name ce-mcp in mcp.json; a stand-in on PATH is enough.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ce-mcp"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Agent.Command = exe
	cfg.Agent.LaunchGap = 0
	cfg.Sessions.KeepWarm = config.Duration(time.Minute)
	d := New(st, cfg, "", zerolog.New(zerolog.NewTestWriter(t)))
	r := &rig{t: t, d: d, ctx: context.Background()}
	if _, err := d.Sessions.Create(r.ctx, session.Record{Name: "s", User: "u", Dir: t.TempDir(), Status: session.Idle, ClaudeSessionID: "11111111-1111-1111-1111-111111111111"}, 5); err != nil {
		t.Fatal(err)
	}
	if withRunner {
		r.startRunner()
	}
	t.Cleanup(r.stopRunner)
	return r
}

func (r *rig) startRunner() {
	r.t.Helper()
	rn, err := runner.New(runner.Options{
		Session: "s", State: r.d.State, KeepWarm: time.Minute, MaxWarm: 2,
		Env: func() []string { return append(os.Environ(), agentEnv+"=1") },
		Log: zerolog.New(zerolog.NewTestWriter(r.t)),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.runner, r.done = cancel, make(chan struct{})
	go func() { defer close(r.done); rn.Serve(ctx) }()
	sock, _ := r.d.State.RunnerSocket("s")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if c, err := runner.Dial(ctx, sock); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatal("the runner did not answer")
		}
	}
}

func (r *rig) stopRunner() {
	if r.runner != nil {
		r.runner()
		<-r.done
		r.runner = nil
	}
}

// claim queues a prompt and claims it, as a driver that then died would.
func (r *rig) claim(prompt string) queue.Item {
	r.t.Helper()
	if _, err := r.d.Queue.Push(r.ctx, "s", prompt, "test"); err != nil {
		r.t.Fatal(err)
	}
	it, _, ok, _, err := r.d.Queue.Claim(r.ctx, "s", time.Now())
	if err != nil || !ok {
		r.t.Fatalf("claim: %v %v", ok, err)
	}
	return it
}

// claimRun is claim, then the item's run directory created, as a driver
// that died before handing the run over would leave it.
func (r *rig) claimRun(prompt string) rundir.Dir {
	r.t.Helper()
	it := r.claim(prompt)
	rd := rundir.Of(r.d.State, "s", it.Run)
	if err := rd.Create(rundir.Request{Session: "s", Run: it.Run, Item: it.ID}, it.Prompt); err != nil {
		r.t.Fatal(err)
	}
	return rd
}

func (r *rig) drive() queue.Item {
	r.t.Helper()
	items, _ := r.d.Queue.List(r.ctx, queue.Filter{Session: "s", Live: true})
	last := items[len(items)-1].ID
	res, err := r.d.DriveSession(r.ctx, "s", DriveOptions{Until: last})
	if err != nil {
		r.t.Fatal(err)
	}
	if res.Until == nil {
		r.t.Fatal("the item did not end")
	}
	return *res.Until
}

// A run's lines and its outcome come over one connection; nothing reads
// stream.jsonl again.
func TestExecuteStreamsLinesAndRecordsTheSummary(t *testing.T) {
	r := newRig(t, true)
	it, err := r.d.Queue.Push(r.ctx, "s", "hello there", "test")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []string
	res, err := r.d.DriveSession(r.ctx, "s", DriveOptions{Until: it.ID, Lines: func(i queue.Item, l []byte) error {
		ev, _ := streamjson.Parse(l)
		mu.Lock()
		types = append(types, ev.Type)
		mu.Unlock()
		return nil
	}})
	if err != nil || res.Until == nil {
		t.Fatalf("drive: %v %v", res, err)
	}
	end := *res.Until
	if end.State != queue.Done || end.Result != "ECHO: hello there" || end.CostUSD <= 0 {
		t.Fatalf("item = %+v", end)
	}
	if strings.Join(types, ",") != "system,assistant,result" {
		t.Fatalf("lines = %v", types)
	}
	e, ok, err := rundir.Of(r.d.State, "s", end.Run).ReadExit()
	if err != nil || !ok || e.Summary == nil || e.Summary.Text != "ECHO: hello there" || !e.Summary.Result {
		t.Fatalf("exit = %+v, %v", e, err)
	}
	rec, _ := r.d.Sessions.Get(r.ctx, "s")
	if rec.Prompts != 1 || !rec.Started || rec.Status != session.Idle || rec.CostUSD != end.CostUSD {
		t.Fatalf("session = %+v", rec)
	}
}

// A run that ended while no driver watched is finished from its exit file.
func TestRecoverFinishedRun(t *testing.T) {
	r := newRig(t, false)
	rd := r.claimRun("done while nobody watched")
	rd.Claim("runner 1")
	sum := streamjson.Summary{Result: true, Text: "the answer", CostUSD: 0.5, SessionID: "22222222-2222-2222-2222-222222222222", Turns: 1}
	if err := rd.WriteExit(rundir.Exit{Result: true, Summary: &sum}); err != nil {
		t.Fatal(err)
	}
	end := r.drive()
	if end.State != queue.Done || end.Result != "the answer" || end.CostUSD != 0.5 || end.Attempts != 1 {
		t.Fatalf("item = %+v", end)
	}
	rec, _ := r.d.Sessions.Get(r.ctx, "s")
	if rec.ClaudeSessionID != sum.SessionID || !rec.Started || rec.Prompts != 1 {
		t.Fatalf("session = %+v", rec)
	}
}

// A driver that died before handing the run over: the item runs again, and
// the lost attempt is not counted.
func TestRecoverNeverStarted(t *testing.T) {
	r := newRig(t, true)
	rd := r.claimRun("never started")
	end := r.drive()
	if end.State != queue.Done || end.Attempts != 1 || end.Result != "ECHO: never started" {
		t.Fatalf("item = %+v", end)
	}
	if rd.Claimer() == "" || !strings.Contains(rd.Claimer(), "abandoned") {
		t.Fatalf("the abandoned run was not claimed by the recovery: %q", rd.Claimer())
	}
}

// A run whose runner died without an exit is retried (queue.retries), then
// fails with the reason.
func TestRecoverDeadRunner(t *testing.T) {
	r := newRig(t, false)
	r.d.Config.Queue.Retries = 0
	rd := r.claimRun("the runner died")
	rd.Claim("runner 1")
	end := r.drive()
	if end.State != queue.Failed || !strings.Contains(end.Error, "died during the run") {
		t.Fatalf("item = %+v", end)
	}
	if e, ok, _ := rd.ReadExit(); !ok || e.Code != -1 {
		t.Fatalf("no exit was written for followers: %+v", e)
	}

	r.d.Config.Queue.Retries = 1
	rd = r.claimRun("the runner died again")
	rd.Claim("runner 1")
	r.startRunner()
	end = r.drive()
	if end.State != queue.Done || end.Attempts != 2 {
		t.Fatalf("retried item = %+v", end)
	}
}

// A run still going when its driver died is followed to its end by the
// next driver.
func TestRecoverRunningRun(t *testing.T) {
	r := newRig(t, true)
	it, _ := r.d.Queue.Push(r.ctx, "s", "SLEEP:1 slow", "test")
	ctx, cancel := context.WithCancel(r.ctx)
	started := make(chan struct{})
	var once sync.Once
	go func() {
		r.d.DriveSession(ctx, "s", DriveOptions{Until: it.ID, Lines: func(queue.Item, []byte) error {
			once.Do(func() { close(started) })
			return nil
		}})
	}()
	<-started
	cancel() // the driver goes; the run goes on
	for r.d.Driving("s") {
		time.Sleep(time.Millisecond)
	}
	var lines int
	res, err := r.d.DriveSession(r.ctx, "s", DriveOptions{Until: it.ID, Lines: func(queue.Item, []byte) error { lines++; return nil }})
	if err != nil || res.Until == nil || res.Until.State != queue.Done || res.Until.Attempts != 1 {
		t.Fatalf("recovered = %+v, %v", res.Until, err)
	}
	if lines != 3 {
		t.Fatalf("the recovering driver got %d lines of the run, want all 3", lines)
	}
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ok := streamjson.Summary{Result: true, Text: "fine", CostUSD: 1.5, SessionID: "c1", DurationMS: 10}
	pre := &session.Record{Started: true, ClaudeSessionID: "c1", ConversationCostUSD: 1.0}
	for name, c := range map[string]struct {
		e      rundir.Exit
		s      streamjson.Summary
		pre    *session.Record
		state  string
		errHas string
		cost   float64
		park   bool
	}{
		"done":             {s: ok, pre: pre, state: queue.Done, cost: 0.5},
		"first run":        {s: ok, state: queue.Done, cost: 1.5},
		"other convo":      {s: ok, pre: &session.Record{Started: true, ClaudeSessionID: "c0", ConversationCostUSD: 9}, state: queue.Done, cost: 1.5},
		"stopped":          {e: rundir.Exit{Stopped: true, Reason: "stopped by the user"}, state: queue.Cancelled, errHas: "stopped: stopped by the user"},
		"timed out":        {e: rundir.Exit{Stopped: true, Reason: "timed out after 1m0s"}, state: queue.Failed, errHas: "timed out"},
		"no result":        {e: rundir.Exit{Code: 2}, state: queue.Failed, errHas: "claude exited with status 2 without a result: boom"},
		"failed":           {s: streamjson.Summary{Result: true, IsError: true, Error: "API Error: 400"}, state: queue.Failed, errHas: "API Error: 400"},
		"limited":          {s: streamjson.Summary{Result: true, IsError: true, Error: "limit", LimitedUntil: now.Add(time.Hour)}, park: true},
		"limited, stopped": {e: rundir.Exit{Stopped: true, Reason: "x"}, s: streamjson.Summary{Result: true, IsError: true, LimitedUntil: now.Add(time.Hour)}, state: queue.Cancelled},
	} {
		v := judge(c.e, c.s, c.pre, ": boom", now)
		if c.park {
			if v.parkUntil.IsZero() || !strings.Contains(v.reason, "usage limit reached") {
				t.Errorf("%s: not parked: %+v", name, v)
			}
			continue
		}
		if v.state != c.state || !strings.Contains(v.errText, c.errHas) || v.cost != c.cost || !v.parkUntil.IsZero() {
			t.Errorf("%s: verdict = %+v", name, v)
		}
	}
}

package heartbeat

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/fakeclock"
	"github.com/rs/zerolog"
)

// monday10 is the fake clock's start: Monday 2 March 2026, 10:00 UTC.
var monday10 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// decisionScript stands in for claude in the decision run: it saves its
// stdin and argv, counts its runs, prints the out file and exits with the
// status in the code file.
const decisionScript = `#!/bin/sh
cat > "$HB_TEST_DIR/prompt"
printf '%s\n' "$@" > "$HB_TEST_DIR/argv"
n=$(cat "$HB_TEST_DIR/count" 2>/dev/null || echo 0)
echo $((n+1)) > "$HB_TEST_DIR/count"
if [ -f "$HB_TEST_DIR/sleep" ]; then sleep "$(cat "$HB_TEST_DIR/sleep")"; fi
cat "$HB_TEST_DIR/out" 2>/dev/null
exit "$(cat "$HB_TEST_DIR/code" 2>/dev/null || echo 0)"
`

type rig struct {
	t     testing.TB
	e     *Engine
	clk   *fakeclock.Clock
	dir   string // the script's files
	instr string
	ctx   context.Context
}

func newRig(t testing.TB) *rig {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home")
	os.MkdirAll(home, 0o700)
	t.Setenv("HOME", home)
	st, err := statedir.Open(filepath.Join(root, "state"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "agent")
	os.MkdirAll(dir, 0o700)
	script := filepath.Join(dir, "claude")
	if err := os.WriteFile(script, []byte(decisionScript), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Agent.Command = script
	cfg.Heartbeat.Instructions = filepath.Join(root, "HEARTBEAT.md")
	cfg.Heartbeat.Timezone = "UTC"
	cfg.Heartbeat.DecisionTimeout = config.Duration(10 * time.Second)
	clk := fakeclock.New(monday10)
	e := New(st, cfg)
	e.Now = clk.Now
	e.ChildEnv = func() []string { return append(os.Environ(), "HB_TEST_DIR="+dir) }
	e.Log = zerolog.New(zerolog.NewTestWriter(t))
	return &rig{t: t, e: e, clk: clk, dir: dir, instr: cfg.Heartbeat.Instructions, ctx: context.Background()}
}

func (r *rig) hb() *config.Heartbeat { return &r.e.Config().Heartbeat }

func (r *rig) instructions(text string) {
	r.t.Helper()
	if err := os.WriteFile(r.instr, []byte(text), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// answer scripts the decision run's result.
func (r *rig) answer(text string, cost float64) {
	r.t.Helper()
	r.result(map[string]any{"type": "result", "subtype": "success", "is_error": false, "result": text,
		"total_cost_usd": cost, "session_id": "d"}, 0)
}

func (r *rig) result(ev map[string]any, code int) {
	r.t.Helper()
	b, _ := json.Marshal(ev)
	init := `{"type":"system","subtype":"init","session_id":"d","tools":[]}` + "\n"
	os.WriteFile(filepath.Join(r.dir, "out"), []byte(init+string(b)+"\n"), 0o600)
	os.WriteFile(filepath.Join(r.dir, "code"), []byte(strconv.Itoa(code)), 0o600)
}

func (r *rig) act(prompt string) {
	r.answer(`{"act":true,"reason":"work to do","prompt":"`+prompt+`"}`, 0.01)
}

// runs is how many times the decision ran.
func (r *rig) runs() int {
	b, err := os.ReadFile(filepath.Join(r.dir, "count"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (r *rig) prompt() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "prompt"))
	return string(b)
}

func (r *rig) beat(opts BeatOptions) Beat {
	r.t.Helper()
	b, err := r.e.Beat(r.ctx, opts)
	if err != nil {
		r.t.Fatalf("beat: %v", err)
	}
	return b
}

func (r *rig) tick() Beat { return r.beat(BeatOptions{IfDue: true}) }

func (r *rig) state() State {
	r.t.Helper()
	s, err := r.e.Load(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *rig) set(fn func(*State)) {
	r.t.Helper()
	if _, err := r.e.update(r.ctx, nil, func(s *State) error { fn(s); return nil }); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) trigger(urgency string, force bool) time.Time {
	r.t.Helper()
	due, err := r.e.Trigger(r.ctx, TriggerRequest{Urgency: urgency, Force: force, Source: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	return due
}

// finish ends the session's next queued item in state (done or failed)
// with a cost, as the queue worker would, finished at the fake now.
func (r *rig) finish(state, errText string, cost float64) queue.Item {
	r.t.Helper()
	it, _, ok, _, err := r.e.queue.Claim(r.ctx, r.hb().Session, r.clk.Now())
	if err != nil || !ok {
		r.t.Fatalf("claim: %v %v", ok, err)
	}
	it, err = r.e.queue.Finish(r.ctx, it.ID, func(i *queue.Item) {
		i.State, i.Error, i.IsError, i.CostUSD, i.Finished = state, errText, state != queue.Done, cost, r.clk.Now().UTC()
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return it
}

func expect(t *testing.T, b Beat, tier, outcome, valve, reason string) {
	t.Helper()
	if b.Tier != tier || b.Outcome != outcome || b.Valve != valve || !strings.Contains(b.Reason, reason) {
		t.Fatalf("beat = %s/%s/%s %q, want %s/%s/%s with %q", b.Tier, b.Outcome, b.Valve, b.Reason, tier, outcome, valve, reason)
	}
}

package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	extheartbeat "github.com/ce-platform/ce/pkg/ext/heartbeat"
	hb "github.com/ce-platform/ce/pkg/heartbeat"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

func newEnv(t *testing.T, sess string) ext.Env {
	t.Helper()
	dir := t.TempDir()
	st, err := statedir.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Heartbeat.Instructions = filepath.Join(dir, "conf", "HEARTBEAT.md")
	return ext.Env{State: st, Config: cfg, Session: sess}
}

func call(t *testing.T, env ext.Env, tool string, args map[string]any) ext.Result {
	t.Helper()
	return exttest.Call(context.Background(), t, env, extheartbeat.Name, tool, args)
}

func TestTools(t *testing.T) {
	env := newEnv(t, "worker")
	res := call(t, env, extheartbeat.ToolStatus, nil)
	var st hb.Status
	if res.IsError || json.Unmarshal([]byte(res.Text), &st) != nil || st.State != "active" || len(st.Valves) != 8 {
		t.Fatalf("status = %+v: %s", res, res.Text)
	}

	res = call(t, env, extheartbeat.ToolPause, map[string]any{"duration": "2h", "reason": "deploying"})
	if res.IsError || !strings.Contains(res.Text, "paused until") {
		t.Fatalf("pause = %+v", res)
	}
	call(t, env, extheartbeat.ToolStatus, nil)
	e := hb.New(env.State, env.Config)
	s, _ := e.Load(context.Background())
	if !s.Paused || s.PauseReason != "deploying" {
		t.Errorf("state = %+v", s)
	}
	if res := call(t, env, extheartbeat.ToolPause, map[string]any{"duration": "30d"}); !res.IsError {
		t.Errorf("a 30-day pause was accepted: %+v", res)
	}

	// resume clears the switch but not an authentication pause.
	e.Pause(context.Background(), 0, "", "t")
	upd := hb.New(env.State, env.Config)
	upd.Resume(context.Background(), hb.ResumeOptions{})
	s, _ = upd.Load(context.Background())
	if s.Paused {
		t.Errorf("still paused: %+v", s)
	}

	res = call(t, env, extheartbeat.ToolTrigger, map[string]any{"urgency": "now", "reason": "tests done"})
	if res.IsError || !strings.Contains(res.Text, "Triggered: the next beat is due at") || !strings.Contains(res.Text, "No ce-heartbeat serve runs") {
		t.Fatalf("trigger = %+v", res)
	}
	s, _ = e.Load(context.Background())
	if s.Trigger == nil || s.Trigger.Urgency != "now" || s.Trigger.Source != "session:worker" || s.Trigger.Force {
		t.Errorf("trigger = %+v", s.Trigger)
	}
	if res := call(t, env, extheartbeat.ToolTrigger, map[string]any{"urgency": "asap"}); !res.IsError {
		t.Errorf("a bad urgency was accepted")
	}

	res = call(t, env, extheartbeat.ToolInstructionsGet, nil)
	if res.IsError || !strings.Contains(res.Text, "does not exist yet") {
		t.Errorf("get = %+v", res)
	}
	res = call(t, env, extheartbeat.ToolInstructionsSet, map[string]any{"content": "# Checks\n- [ ] disk space\n"})
	if res.IsError || !strings.Contains(res.Text, "Saved") {
		t.Fatalf("set = %+v", res)
	}
	b, err := os.ReadFile(env.Config.Heartbeat.Instructions)
	if err != nil || string(b) != "# Checks\n- [ ] disk space\n" {
		t.Errorf("file = %q, %v", b, err)
	}
	res = call(t, env, extheartbeat.ToolInstructionsGet, nil)
	if !strings.Contains(res.Text, "- [ ] disk space") {
		t.Errorf("get = %+v", res)
	}
	res = call(t, env, extheartbeat.ToolInstructionsSet, map[string]any{"content": "# nothing\n"})
	if !strings.Contains(res.Text, "effectively empty") {
		t.Errorf("set empty = %+v", res)
	}
	if res := call(t, env, extheartbeat.ToolInstructionsSet, map[string]any{}); !res.IsError {
		t.Errorf("set without content = %+v", res)
	}
}

// The heartbeat's own session triggers with urgency normal only.
func TestOwnSession(t *testing.T) {
	env := newEnv(t, "heartbeat")
	res := call(t, env, extheartbeat.ToolTrigger, map[string]any{"urgency": "now"})
	if res.IsError || !strings.Contains(res.Text, "triggers with urgency normal") {
		t.Fatalf("trigger = %+v", res)
	}
}

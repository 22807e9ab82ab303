package tools

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/ext"
	extcron "github.com/ce-platform/ce/pkg/ext/cron"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

func newState(t *testing.T) (*statedir.Dir, *config.Config) {
	t.Helper()
	st := statetest.New(t)
	for _, n := range []string{"lead", "rev"} {
		if _, err := session.Open(st).Create(context.Background(), session.Record{Name: n, User: "tester", Dir: "/tmp"}, 10); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Cron.Jobs = map[string]config.CronJob{"nightly": {Cron: "@daily", Session: "lead", Prompt: "from config"}}
	return st, cfg
}

func call(t *testing.T, st *statedir.Dir, cfg *config.Config, as, tool string, args map[string]any) ext.Result {
	t.Helper()
	return exttest.Call(context.Background(), t, ext.Env{State: st, Config: cfg, Session: as}, extcron.Name, tool, args)
}

func TestCreateListDelete(t *testing.T) {
	st, cfg := newState(t)
	r := call(t, st, cfg, "lead", "cron_create", map[string]any{"name": "later", "in": "20m", "prompt": "check the deploy"})
	if r.IsError || !strings.Contains(r.Text, "Created job later: it fires once, at ") || !strings.Contains(r.Text, "to session lead") {
		t.Fatalf("create: %+v", r)
	}
	r = call(t, st, cfg, "lead", "cron_create", map[string]any{"name": "fresh", "schedule": "0 9 * * 1-5", "tz": "Europe/Paris", "new": true, "template": "reviewer", "prompt": "review"})
	if r.IsError || !strings.Contains(r.Text, "on schedule 0 9 * * 1-5 Europe/Paris") || !strings.Contains(r.Text, "a fresh session per run") {
		t.Fatalf("create on a schedule: %+v", r)
	}
	j, err := cronjob.Open(st).Get(context.Background(), "later")
	if err != nil || j.Source != "session:lead" || j.Session != "lead" || j.CreatedBy != "session:lead" {
		t.Fatalf("stored job %+v: %v", j, err)
	}
	if f, _ := cronjob.Open(st).Get(context.Background(), "fresh"); f.Dir != "/tmp" || f.User != "tester" {
		t.Errorf("a fresh-session job takes its directory and user from the creating session: %+v", f)
	}

	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"name": "bad", "schedule": "61 * * * *", "prompt": "x"}, `invalid cron expression "61 * * * *"`},
		{map[string]any{"name": "bad", "at": "2020-01-01T00:00:00Z", "prompt": "x"}, `time "2020-01-01T00:00:00Z" is in the past`},
		{map[string]any{"name": "bad", "prompt": "x"}, `exactly one schedule`},
		{map[string]any{"name": "bad", "in": "5m", "session": "ghost", "prompt": "x"}, `no session "ghost"`},
		{map[string]any{"name": "later", "in": "5m", "prompt": "x"}, `already exists`},
		{map[string]any{"name": "nightly", "in": "5m", "prompt": "x"}, `defined in the ce configuration`},
		{map[string]any{"name": "bad", "in": "5m", "new": true, "template": "nosuch", "prompt": "x"}, `unknown template`},
	} {
		if r := call(t, st, cfg, "lead", "cron_create", tc.args); !r.IsError || !strings.Contains(r.Text, tc.want) {
			t.Errorf("%v: %+v, want %q", tc.args, r, tc.want)
		}
	}

	r = call(t, st, cfg, "rev", "cron_list", map[string]any{})
	for _, want := range []string{`"name": "later"`, `"source": "session:lead"`, `"name": "nightly"`, `"source": "config"`, `"deletable": false`} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("list lacks %s:\n%s", want, r.Text)
		}
	}
	if r := call(t, st, cfg, "rev", "cron_delete", map[string]any{"name": "later"}); !r.IsError || !strings.Contains(r.Text, "was created by session:lead") {
		t.Errorf("another session's delete: %+v", r)
	}
	if r := call(t, st, cfg, "lead", "cron_delete", map[string]any{"name": "nightly"}); !r.IsError || !strings.Contains(r.Text, "comes from the ce configuration") {
		t.Errorf("a config job's delete: %+v", r)
	}
	if r := call(t, st, cfg, "lead", "cron_delete", map[string]any{"name": "later"}); r.IsError || r.Text != "Deleted job later." {
		t.Errorf("own delete: %+v", r)
	}
	if r := call(t, st, cfg, "lead", "cron_delete", map[string]any{"name": "later"}); !r.IsError || !strings.Contains(r.Text, `no job "later"`) {
		t.Errorf("delete twice: %+v", r)
	}
	if r := call(t, st, cfg, "", "cron_list", map[string]any{}); !r.IsError || !strings.Contains(r.Text, "only inside a ce session") {
		t.Errorf("outside a session: %+v", r)
	}
}

// The schema's "missed" values are the job store's policies.
func TestMissedEnum(t *testing.T) {
	tl, _ := extcron.New().Tool(extcron.ToolCreate)
	got := tl.Schema["properties"].(map[string]any)["missed"].(map[string]any)["enum"]
	if want := []string{cronjob.MissedSkip, cronjob.MissedOnce, cronjob.MissedAll}; !slices.Equal(got.([]string), want) {
		t.Errorf("enum = %v, want %v", got, want)
	}
}

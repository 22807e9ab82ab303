package config

import (
	"strings"
	"testing"
	"time"
)

func TestCronJobs(t *testing.T) {
	c, err := Parse([]byte(`cron:
  grace: 30m
  jobs:
    nightly:
      cron: "0 3 * * 1-5"
      tz: Europe/Paris
      new: true
      template: reviewer
      prompt: run the tests
    once:
      at: "2026-01-02 15:04"
      session: main
      missed: skip
      prompt: hello
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cron.Grace != Duration(30*time.Minute) || len(c.Cron.Jobs) != 2 || !c.Cron.Jobs["nightly"].New || c.Cron.Jobs["once"].Session != "main" {
		t.Errorf("got %+v", c.Cron)
	}
}

func TestCronJobErrors(t *testing.T) {
	for _, tc := range []struct{ job, want string }{
		{`{cron: "61 * * * *", session: s, prompt: p}`, `c.yaml:3: cron.jobs.j.cron: invalid cron expression "61 * * * *"`},
		{`{cron: "@daily", at: "2026-01-02 15:04", session: s, prompt: p}`, `cron.jobs.j: set exactly one of cron`},
		{`{session: s, prompt: p}`, `cron.jobs.j: set exactly one of cron`},
		{`{at: "tomorrow", session: s, prompt: p}`, `cron.jobs.j.at: invalid time "tomorrow"`},
		{`{cron: "@daily", tz: Mars/Base, session: s, prompt: p}`, `cron.jobs.j.tz: unknown time zone "Mars/Base"`},
		{`{cron: "@daily", prompt: p}`, `set session`},
		{`{cron: "@daily", session: s, new: true, prompt: p}`, `not both`},
		{`{cron: "@daily", session: "a b", prompt: p}`, `cron.jobs.j.session: session names use`},
		{`{cron: "@daily", session: s, keep: true, prompt: p}`, `template and keep apply to fresh sessions`},
		{`{cron: "@daily", session: s, missed: twice, prompt: p}`, `cron.jobs.j.missed: unknown missed-run policy "twice"`},
		{`{cron: "@daily", session: s}`, `cron.jobs.j.prompt: must not be empty`},
	} {
		_, err := Parse([]byte("cron:\n  jobs:\n    j: "+tc.job+"\n"), "c.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.job, err, tc.want)
		}
	}
	if _, err := Parse([]byte("cron:\n  jobs:\n    \"bad name\": {cron: \"@daily\", session: s, prompt: p}\n"), "c.yaml"); err == nil || !strings.Contains(err.Error(), "job names use") {
		t.Errorf("bad name: %v", err)
	}
	if _, err := Parse([]byte("cron:\n  grace: -1m\n"), "c.yaml"); err == nil || !strings.Contains(err.Error(), "cron.grace: must not be negative") {
		t.Errorf("negative grace: %v", err)
	}
}

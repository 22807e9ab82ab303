package ask

import (
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
)

// The metadata is registered without a handler: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_ask" || e.Timeout < MaxTimeout || e.Prompt == "" {
		t.Fatalf("registered %v %+v", ok, e)
	}
	tl, ok := e.Tool(ToolAskUser)
	if !ok || tl.Handler != nil || tl.Schema["type"] != "object" {
		t.Fatalf("ask_user = %+v", tl)
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		arg  any
		want time.Duration
		err  string
	}{
		{nil, time.Minute, ""},
		{90.0, 90 * time.Second, ""},
		{"2h", 2 * time.Hour, ""},
		{0.0, 0, "must be positive (seconds to wait; default 60)"},
		{"-1s", 0, "must be positive"},
		{"4h", 0, "at most 3h0m0s (10800 seconds)"},
		{"soon", 0, `argument "timeout"`},
		{true, 0, "must be a number of seconds or a duration string"},
	} {
		args := map[string]any{}
		if tc.arg != nil {
			args["timeout"] = tc.arg
		}
		d, err := Timeout(ext.Call{Args: args}, time.Minute, 3*time.Hour)
		switch {
		case tc.err == "" && (err != nil || d != tc.want):
			t.Errorf("%v: %s, %v; want %s", tc.arg, d, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: %s, %v; want an error with %q", tc.arg, d, err, tc.err)
		}
	}
}

package ask

import (
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

// The metadata is registered without a handler: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolAskUser)
	if e.Timeout < MaxTimeout {
		t.Errorf("timeout %s, want at least %s", e.Timeout, MaxTimeout)
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

package echo

import (
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

func TestTools(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_echo" || e.Prompt != "The ce_echo tools echo text." {
		t.Fatalf("registered %v %+v", ok, e)
	}
	for _, c := range []struct {
		tool string
		args map[string]any
		want ext.Result
	}{
		{"echo", map[string]any{"text": "hi"}, ext.Result{Text: "hi"}},
		{"echo", map[string]any{"text": ""}, ext.Result{Text: ""}},
		{"echo", map[string]any{}, ext.Errorf(`argument "text" is required (a string)`)},
		{"add", map[string]any{"a": 2.0, "b": 3.5}, ext.Result{Text: "5.5"}},
		{"add", map[string]any{"a": "2", "b": 3.0}, ext.Result{Text: "5"}},
		{"add", map[string]any{"a": "two", "b": 3.0}, ext.Errorf(`argument "a" is required (a number)`)},
	} {
		if got := exttest.Call(t.Context(), t, ext.Env{}, Name, c.tool, c.args); got != c.want {
			t.Errorf("%s %v = %+v, want %+v", c.tool, c.args, got, c.want)
		}
	}
}

package heartbeat

import (
	"context"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestMetadataWithoutHandlers(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_heartbeat" || e.Prompt == "" || e.PromptFunc == nil {
		t.Fatalf("registered %v %+v", ok, e)
	}
	want := []string{ToolStatus, ToolPause, ToolResume, ToolTrigger, ToolInstructionsGet, ToolInstructionsSet}
	if len(e.Tools) != len(want) {
		t.Fatalf("%d tools", len(e.Tools))
	}
	for i, tl := range e.Tools {
		if tl.Name != want[i] || tl.Handler != nil || tl.Description == "" || tl.Schema["type"] != "object" {
			t.Errorf("tool %d = %+v", i, tl)
		}
	}
}

// The heartbeat's own session gets the session prompt.
func TestOwnSessionPrompt(t *testing.T) {
	e, _ := ext.Lookup(Name)
	env := ext.Env{Config: config.Default(), Session: "heartbeat"}
	if got := e.PromptFunc(context.Background(), env); got != SessionPrompt {
		t.Errorf("prompt for the heartbeat session = %q", got)
	}
	env.Session = "other"
	if got := e.PromptFunc(context.Background(), env); got != "" {
		t.Errorf("prompt for another session = %q", got)
	}
	if got := e.PromptFunc(context.Background(), ext.Env{Session: "heartbeat"}); got != "" {
		t.Errorf("prompt without a config = %q", got)
	}
}

func TestNotEnabledByDefault(t *testing.T) {
	if config.Default().Enabled.Has(Name) {
		t.Error("the heartbeat must be opt-in")
	}
}

package heartbeat

import (
	"context"
	"testing"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestMetadataWithoutHandlers(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolStatus, ToolPause, ToolResume, ToolTrigger, ToolInstructionsGet, ToolInstructionsSet)
	if e.PromptFunc == nil {
		t.Error("no PromptFunc")
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

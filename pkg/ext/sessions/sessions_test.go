package sessions

import (
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_sessions" || e.Timeout < MaxTimeout || e.Prompt == "" {
		t.Fatalf("registered %v %+v", ok, e)
	}
	want := []string{ToolAsk, ToolReply, ToolInbox}
	if len(e.Tools) != len(want) {
		t.Fatalf("%d tools", len(e.Tools))
	}
	for i, tl := range e.Tools {
		if tl.Name != want[i] || tl.Handler != nil || tl.Description == "" || tl.Schema["type"] != "object" {
			t.Errorf("tool %d = %+v", i, tl)
		}
	}
	if tl, _ := e.Tool(ToolInbox); !tl.ReadOnly {
		t.Error("session_inbox is not read-only")
	}
}

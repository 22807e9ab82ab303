package cron

import (
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestMetadataWithoutHandlers(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_cron" || e.Prompt == "" {
		t.Fatalf("registered %v %+v", ok, e)
	}
	want := []string{ToolCreate, ToolList, ToolDelete}
	if len(e.Tools) != len(want) {
		t.Fatalf("%d tools", len(e.Tools))
	}
	for i, tl := range e.Tools {
		if tl.Name != want[i] || tl.Handler != nil || tl.Description == "" || tl.Schema["type"] != "object" {
			t.Errorf("tool %d = %+v", i, tl)
		}
	}
	if tl, _ := e.Tool(ToolDelete); !tl.Destructive {
		t.Error("cron_delete is not destructive")
	}
	if tl, _ := e.Tool(ToolList); !tl.ReadOnly {
		t.Error("cron_list is not read-only")
	}
}

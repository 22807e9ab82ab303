package vault

import (
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e, ok := ext.Lookup(Name)
	if !ok || e.Server() != "ce_vault" || e.Prompt == "" || e.Timeout < MaxExecTimeout {
		t.Fatalf("registered %v %+v", ok, e)
	}
	want := []string{ToolStore, ToolList, ToolDelete, ToolExec}
	if len(e.Tools) != len(want) {
		t.Fatalf("%d tools", len(e.Tools))
	}
	for i, tl := range e.Tools {
		if tl.Name != want[i] || tl.Handler != nil || tl.Description == "" || tl.Schema["type"] != "object" {
			t.Errorf("tool %d = %+v", i, tl)
		}
	}
	if tl, _ := e.Tool(ToolList); !tl.ReadOnly {
		t.Error("vault_list is not read-only")
	}
	for _, n := range []string{ToolDelete, ToolExec} {
		if tl, _ := e.Tool(n); !tl.Destructive {
			t.Errorf("%s is not destructive", n)
		}
	}
}

package handlers

import (
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
)

// Every tool of every built-in extension has its handler.
func TestEveryToolHasAHandler(t *testing.T) {
	names := ext.Names()
	if len(names) == 0 {
		t.Fatal("no extensions are registered")
	}
	tools := 0
	for _, n := range names {
		e, _ := ext.Lookup(n)
		if len(e.Tools) == 0 {
			t.Errorf("%s has no tools", n)
		}
		for _, tl := range e.Tools {
			tools++
			if tl.Handler == nil {
				t.Errorf("%s: tool %s has no handler", n, tl.Name)
			}
		}
	}
	t.Logf("%d tools in %d extensions", tools, len(names))
}

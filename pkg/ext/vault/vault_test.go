package vault

import (
	"testing"

	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolStore, ToolList, ToolDelete, ToolExec)
	if e.Timeout < MaxExecTimeout {
		t.Errorf("timeout %s, want at least %s", e.Timeout, MaxExecTimeout)
	}
	exttest.ReadOnly(t, e, ToolList)
	exttest.Destructive(t, e, ToolDelete, ToolExec)
}

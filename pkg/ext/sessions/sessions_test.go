package sessions

import (
	"testing"

	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestExtension(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolAsk, ToolReply, ToolInbox)
	if e.Timeout < MaxTimeout {
		t.Errorf("timeout %s, want at least %s", e.Timeout, MaxTimeout)
	}
	exttest.ReadOnly(t, e, ToolInbox)
}

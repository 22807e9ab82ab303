package cron

import (
	"testing"

	"github.com/ce-platform/ce/pkg/testkit/exttest"
)

// The metadata is registered without handlers: the queue worker imports
// only this package.
func TestMetadataWithoutHandlers(t *testing.T) {
	e := exttest.Metadata(t, Name, ToolCreate, ToolList, ToolDelete)
	exttest.Destructive(t, e, ToolDelete)
	exttest.ReadOnly(t, e, ToolList)
}

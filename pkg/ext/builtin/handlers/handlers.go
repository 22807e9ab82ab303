// Package handlers links the tool handlers of the built-in extensions that
// register them apart from their metadata (ext.RegisterHandlers), because
// they pull heavy dependencies such as SQLite. Only the program that runs
// the tools, ce-mcp, imports it; the queue worker imports package builtin
// alone.
package handlers

import (
	_ "github.com/ce-platform/ce/pkg/ext/builtin" // the metadata the handlers attach to
	_ "github.com/ce-platform/ce/pkg/ext/memory/tools"
)

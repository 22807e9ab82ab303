// Package handlers links the tool handlers of the built-in extensions,
// which each register apart from their metadata (ext.RegisterHandlers)
// because they pull the stores and clients the tools work with: the
// pending store, the vault's encryption, the job store, the heartbeat's
// engine, the memory's SQLite index. Only the program that runs the
// tools, ce-mcp, imports it; the queue worker imports package builtin
// alone.
package handlers

import (
	_ "github.com/ce-platform/ce/pkg/ext/ask/tools"
	_ "github.com/ce-platform/ce/pkg/ext/builtin" // the metadata the handlers attach to
	_ "github.com/ce-platform/ce/pkg/ext/cron/tools"
	_ "github.com/ce-platform/ce/pkg/ext/heartbeat/tools"
	_ "github.com/ce-platform/ce/pkg/ext/memory/tools"
	_ "github.com/ce-platform/ce/pkg/ext/sessions/tools"
	_ "github.com/ce-platform/ce/pkg/ext/vault/tools"
)

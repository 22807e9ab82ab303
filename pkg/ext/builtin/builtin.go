// Package builtin links every built-in extension into a program: importing
// it for its side effect registers them all with package ext, so that
// ext.Lookup and ext.Names see the same set in ce-mcp and in the queue
// worker that writes each run's mcp.json. It links their metadata only
// (names, schemas, prompts, timeouts), and none of the stores their tools
// work with; package builtin/handlers adds the handlers.
package builtin

import (
	_ "github.com/ce-platform/ce/pkg/ext/ask"
	_ "github.com/ce-platform/ce/pkg/ext/cron"
	_ "github.com/ce-platform/ce/pkg/ext/echo"
	_ "github.com/ce-platform/ce/pkg/ext/heartbeat"
	_ "github.com/ce-platform/ce/pkg/ext/memory"
	_ "github.com/ce-platform/ce/pkg/ext/sessions"
	_ "github.com/ce-platform/ce/pkg/ext/vault"
)

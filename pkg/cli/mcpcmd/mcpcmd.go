// Package mcpcmd is the ce-mcp command: the MCP servers claude starts for
// each run (serve, one per mcp.json entry, speaking MCP on stdin and
// stdout), a listing of the tools they offer (tools), and the mcp.json a
// session's next run gets (config). cmd/ce-mcp is a one-line main around
// Main.
package mcpcmd

import (
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/ext"
	_ "github.com/ce-platform/ce/pkg/ext/builtin"          // the extensions ce-mcp serves
	_ "github.com/ce-platform/ce/pkg/ext/builtin/handlers" // and the handlers of their tools
)

// CLI is the command line of ce-mcp.
type CLI struct {
	Serve  ServeCmd  `cmd:"" help:"Serve extensions as one MCP server on stdin and stdout (claude starts this)."`
	Tools  ToolsCmd  `cmd:"" help:"List the tools of the extensions, with their input schemas."`
	Config ConfigCmd `cmd:"" help:"Print the mcp.json the next run of a session gets."`

	clikit.Base
}

// App is ce-mcp's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name:        "ce-mcp",
		Description: "serve ce's extensions to claude as MCP servers\n\nEach run's mcp.json names one ce-mcp serve server per enabled extension (ce_ask, ce_memory, ...), given CE_SESSION, CE_STATE_DIR and CE_BRIDGE_SOCKET. stdout of serve is the MCP channel; its log goes to logs/mcp.log in the state directory.",
		CLI:         &CLI{},
	}
}

// Main runs ce-mcp and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// lookup resolves extension names, refusing unknown ones.
func lookup(names []string) ([]*ext.Extension, error) {
	var out []*ext.Extension
	for _, n := range names {
		e, ok := ext.Lookup(n)
		if !ok {
			return nil, clikit.Usage("ce-mcp tools lists the extensions", "unknown extension %q (known: %s)", n, strings.Join(ext.Names(), ", "))
		}
		out = append(out, e)
	}
	return out, nil
}

package mcpcmd

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain puts this test binary on PATH as ce-mcp, so that claude can
// start the real command as the MCP server of the end-to-end tests.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ce-mcp": func() { os.Exit(Main(os.Args[1:])) },
	})
}

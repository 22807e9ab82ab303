// Command ce-mcp; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/mcpcmd"
)

func main() { os.Exit(mcpcmd.Main(os.Args[1:])) }

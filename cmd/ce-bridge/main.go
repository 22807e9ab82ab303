// Command ce-bridge; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/bridgecmd"
)

func main() { os.Exit(bridgecmd.Main(os.Args[1:])) }

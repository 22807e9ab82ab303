// Command ce-session; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/sessioncmd"
)

func main() { os.Exit(sessioncmd.Main(os.Args[1:])) }

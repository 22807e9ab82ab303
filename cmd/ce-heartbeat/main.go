// Command ce-heartbeat; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/heartbeatcmd"
)

func main() { os.Exit(heartbeatcmd.Main(os.Args[1:])) }

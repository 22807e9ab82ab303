// Command ce-queue; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/queuecmd"
)

func main() { os.Exit(queuecmd.Main(os.Args[1:])) }

// Command ce-cron; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/croncmd"
)

func main() { os.Exit(croncmd.Main(os.Args[1:])) }

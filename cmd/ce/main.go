// Command ce is the front door of the ce platform; see ce(1) and ce(7).
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/cecmd"
)

func main() { os.Exit(cecmd.Main(os.Args[1:])) }

// Command ce-memory; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/memorycmd"
)

func main() { os.Exit(memorycmd.Main(os.Args[1:])) }

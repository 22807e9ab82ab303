// Command ce-vault; see its man page.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/cli/vaultcmd"
)

func main() { os.Exit(vaultcmd.Main(os.Args[1:])) }

// Command gendocs writes the man pages (man/) and shell completions
// (completions/) of every ce command from their kong models. `make man
// completions` runs it; a test fails when the committed files are stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ce-platform/ce/internal/docs"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	files, err := docs.Generate(*root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
	if err := docs.Write(*root, files); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}

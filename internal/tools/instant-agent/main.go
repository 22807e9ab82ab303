// Command instant-agent is a stand-in for the claude CLI that answers every
// turn at once; see pkg/testkit/instantagent. Benchmarks point ce at it to
// measure ce's own overhead.
package main

import (
	"os"

	"github.com/ce-platform/ce/pkg/testkit/instantagent"
)

func main() {
	os.Exit(instantagent.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Command ce-ext-hello is the example ce extension; see package hello.
package main

import (
	"os"

	hello "github.com/ce-platform/ce/contrib/ext-hello"
)

func main() { os.Exit(hello.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Command fakeapi serves the fake Anthropic Messages API of
// pkg/testkit/fakeapi until SIGINT or SIGTERM, so claude can run offline in
// demos. It prints the base URL as the first line of stdout, for a script
// to read and put in ANTHROPIC_BASE_URL. Every turn gets the default echo.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address, host:port")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fakeapi: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := fakeapi.Listen(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "fakeapi: error: %v\n", err)
		return 1
	}
	defer srv.Close()
	fmt.Fprintln(stdout, srv.URL())
	<-ctx.Done()
	return 0
}

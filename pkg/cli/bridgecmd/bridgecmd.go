// Package bridgecmd is the ce-bridge command: the broker (serve) and two
// clients of it for shells and scripts (call, sub). The protocol and the Go
// client are in package bridge. cmd/ce-bridge is a one-line main around
// Main.
package bridgecmd

import (
	"errors"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/statedir"
)

// CLI is the command line of ce-bridge.
type CLI struct {
	Serve ServeCmd `cmd:"" help:"Run the broker until interrupted."`
	Call  CallCmd  `cmd:"" help:"Call a method through the broker and print its result as JSON."`
	Sub   SubCmd   `cmd:"" help:"Print the events of matching topics as NDJSON until interrupted."`

	clikit.Base
}

// App is ce-bridge's description, for Main and the doc generator.
func App() clikit.App {
	return clikit.App{
		Name: "ce-bridge",
		Description: "the Unix-socket broker between ce's processes\n\n" +
			"serve listens on bridge.sock in the state directory and speaks newline-delimited JSON-RPC 2.0: " +
			"processes provide methods (bridge.provide) and the broker routes calls to them with a deadline; " +
			"they publish events (bridge.publish) to subscribers of matching topic patterns (bridge.subscribe). " +
			"The broker keeps no state: restarting it loses nothing, clients reconnect. " +
			"call and sub are its clients for shells and scripts.",
		CLI: &CLI{},
	}
}

// Main runs ce-bridge and returns its exit status.
func Main(args []string) int { return App().Main(args) }

// Client is the broker-socket flag shared by call and sub.
type Client struct {
	Socket string `name:"socket" env:"CE_BRIDGE_SOCKET" placeholder:"PATH" help:"The broker's socket (default bridge.sock in the state directory)."`
}

// path is the socket to dial: --socket, else the state directory's,
// without creating the directory.
func (c Client) path(env *clikit.Env) (string, error) {
	if c.Socket != "" {
		return c.Socket, nil
	}
	root, err := statedir.Resolve(env.Globals.StateDir)
	if err != nil {
		return "", clikit.WithHint(clikit.ExitUsage, err, "")
	}
	return (&statedir.Dir{Root: root}).BridgeSocket(), nil
}

// noBroker is the error of a client command when no broker runs.
func noBroker(path string) error {
	return clikit.Fail("start it with ce-bridge serve (or ce up)", "no broker is running at %s", path)
}

// clientErr turns a client error into ce's voice.
func clientErr(path string, err error) error {
	var re *bridge.RPCError
	switch {
	case errors.Is(err, bridge.ErrNoBroker):
		return noBroker(path)
	case errors.Is(err, bridge.ErrDisconnected):
		return clikit.Fail("ce-bridge call bridge.health tells whether the broker runs", "%v", err)
	case errors.As(err, &re) && re.Code == bridge.CodeForbidden:
		return clikit.Fail("run ce as the user who runs the broker", "%s", re.Message)
	case errors.As(err, &re) && re.Code == bridge.CodeMethodNotFound:
		return clikit.Fail("ce-bridge call bridge.providers lists the methods provided now", "%s", re.Message)
	}
	return err
}

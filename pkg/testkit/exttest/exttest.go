// Package exttest is test support for ce's extensions (package ext): it
// calls a registered extension's tools the way ce-mcp does, and checks the
// metadata an extension registers for the queue worker. Only tests import
// it; other programs should not rely on it.
package exttest

import (
	"context"
	"testing"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
	"github.com/rs/zerolog"
)

// BrokerEnv returns the env of session in a fresh state directory with a
// short path, naming the state directory's broker socket: for tools that
// wake their waiters through the broker, which a test may start there. It
// has no config.
func BrokerEnv(tb testing.TB, session string) ext.Env {
	tb.Helper()
	st := statetest.Short(tb)
	return ext.Env{State: st, Session: session, BridgeSocket: st.BridgeSocket()}
}

// StartBroker serves a broker on env's socket until ctx is done.
func StartBroker(ctx context.Context, tb testing.TB, env ext.Env) {
	tb.Helper()
	ln, err := bridge.Listen(env.BridgeSocket)
	if err != nil {
		tb.Fatal(err)
	}
	go bridge.NewServer(zerolog.Nop()).Serve(ctx, ln)
}

// Tool returns the named tool of a registered extension, failing the test
// when the extension is not registered or the tool has no handler (its
// handlers package is not linked).
func Tool(tb testing.TB, extension, tool string) *ext.Tool {
	tb.Helper()
	e, ok := ext.Lookup(extension)
	if !ok {
		tb.Fatalf("%s is not registered", extension)
	}
	tl, ok := e.Tool(tool)
	if !ok || tl.Handler == nil {
		tb.Fatalf("no handler for %s", tool)
	}
	return tl
}

// Call calls a tool of a registered extension with env and args (nil
// meaning none), as ce-mcp does.
func Call(ctx context.Context, tb testing.TB, env ext.Env, extension, tool string, args map[string]any) ext.Result {
	tb.Helper()
	if args == nil {
		args = map[string]any{}
	}
	return Tool(tb, extension, tool).Handler(ctx, ext.Call{Env: env, Args: args})
}

// Metadata returns the extension registered as name, failing the test
// unless it is served as ce_<name>, has a prompt, and has exactly the
// tools named, in that order, each with a description, an object schema
// and no handler: what the queue worker links without the handlers'
// dependencies.
func Metadata(tb testing.TB, name string, tools ...string) *ext.Extension {
	tb.Helper()
	e, ok := ext.Lookup(name)
	if !ok || e.Server() != ext.ServerPrefix+name || e.Prompt == "" {
		tb.Fatalf("registered %v %+v", ok, e)
	}
	if len(e.Tools) != len(tools) {
		tb.Fatalf("%d tools, want %d", len(e.Tools), len(tools))
	}
	for i, tl := range e.Tools {
		if tl.Name != tools[i] || tl.Handler != nil || tl.Description == "" || tl.Schema["type"] != "object" {
			tb.Errorf("tool %d = %+v", i, tl)
		}
	}
	return e
}

// ReadOnly fails the test unless each named tool of e is annotated
// read-only.
func ReadOnly(tb testing.TB, e *ext.Extension, tools ...string) {
	tb.Helper()
	for _, n := range tools {
		if tl, ok := e.Tool(n); !ok || !tl.ReadOnly {
			tb.Errorf("%s is not read-only", n)
		}
	}
}

// Destructive fails the test unless each named tool of e is annotated
// destructive.
func Destructive(tb testing.TB, e *ext.Extension, tools ...string) {
	tb.Helper()
	for _, n := range tools {
		if tl, ok := e.Tool(n); !ok || !tl.Destructive {
			tb.Errorf("%s is not destructive", n)
		}
	}
}

// Package mcpserver serves ce extensions to claude as a stdio MCP server,
// built on mcp-go. Each ext.Tool becomes an MCP tool with its JSON schema
// and annotations (read-only, destructive, never open-world); a call runs
// the tool's handler with the Env of the serving process and claude's
// tool-use id.
//
// In gateway mode an extension with more than one tool is served as one
// tool named after its server (ce_memory, so claude calls it
// mcp__ce_memory__ce_memory) taking an "action" argument; see Gateway.
//
// claude 2.1.328 opens with a server/discover probe of the stateless
// protocol 2026-07-28, which mcp-go would answer; this package answers it
// "method not found" instead, so claude falls back to initialize with
// 2025-11-25, the protocol it was verified with.
//
// The Go API is implementation; the tool names and the gateway's shape are
// what models and permission rules see.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/rs/zerolog"
)

// ToolUseIDMeta is the _meta key under which claude sends the id of the
// tool_use block a call answers.
const ToolUseIDMeta = "claudecode/toolUseId"

// Options change how extensions are served.
type Options struct {
	// Gateway folds each extension with several tools into one tool.
	Gateway bool
	// Version is reported to the client as the server's version.
	Version string
	// Log gets one line per tool call and the transport's errors; the
	// zero Logger discards them. It must not write to the MCP channel.
	Log zerolog.Logger
}

// Tool is one tool as served: its MCP description and what runs it.
type Tool struct {
	// Server is the MCP server name of the tool's extension (ce_echo).
	Server string
	// Extension is the extension's name (echo).
	Extension string
	MCP       mcp.Tool
	handler   func(ctx context.Context, c ext.Call) ext.Result
}

// Tools returns the tools the extensions are served as, in order; an error
// names two tools of the same name or a tool the gateway cannot fold.
func Tools(exts []*ext.Extension, gateway bool) ([]Tool, error) {
	var out []Tool
	seen := map[string]string{}
	for _, e := range exts {
		var ts []Tool
		if gateway && len(e.Tools) > 1 {
			t, err := Gateway(e)
			if err != nil {
				return nil, err
			}
			ts = []Tool{t}
		} else {
			for i := range e.Tools {
				t, err := plain(e, &e.Tools[i])
				if err != nil {
					return nil, err
				}
				ts = append(ts, t)
			}
		}
		for _, t := range ts {
			if other, dup := seen[t.MCP.Name]; dup {
				return nil, fmt.Errorf("tool %q of extension %s is also a tool of %s; serve them separately", t.MCP.Name, e.Name, other)
			}
			seen[t.MCP.Name] = e.Name
			out = append(out, t)
		}
	}
	return out, nil
}

func plain(e *ext.Extension, t *ext.Tool) (Tool, error) {
	if t.Handler == nil {
		return Tool{}, fmt.Errorf("extension %s: tool %s has no handler", e.Name, t.Name)
	}
	schema, err := schemaJSON(t.Schema)
	if err != nil {
		return Tool{}, fmt.Errorf("extension %s: tool %s: %w", e.Name, t.Name, err)
	}
	m := mcp.NewToolWithRawSchema(t.Name, t.Description, schema)
	m.Annotations = annotations(t.ReadOnly, t.Destructive)
	return Tool{Server: e.Server(), Extension: e.Name, MCP: m, handler: t.Handler}, nil
}

// annotations are the hints claude shows and may use to decide on
// permissions; mcp-go's defaults (destructive, open world) would be wrong
// for every ce tool.
func annotations(readOnly, destructive bool) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive && !readOnly),
		IdempotentHint:  mcp.ToBoolPtr(readOnly),
		OpenWorldHint:   mcp.ToBoolPtr(false),
	}
}

// New returns an MCP server of the extensions' tools, whose calls run with
// env.
func New(exts []*ext.Extension, env ext.Env, opts Options) (*server.MCPServer, error) {
	if len(exts) == 0 {
		return nil, errors.New("no extension to serve")
	}
	tools, err := Tools(exts, opts.Gateway)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range exts {
		names = append(names, e.Server())
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	s := server.NewMCPServer(strings.Join(names, "+"), version, server.WithToolCapabilities(false))
	for _, t := range tools {
		s.AddTool(t.MCP, handler(t, env, opts.Log))
	}
	return s, nil
}

func handler(t Tool, env ext.Env, log zerolog.Logger) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		c := ext.Call{Env: env, Args: req.GetArguments(), ToolUseID: toolUseID(req)}
		start := time.Now()
		res := run(ctx, t, c, log)
		ev := log.Info()
		if res.IsError {
			ev = log.Warn().Str("error", firstLine(res.Text))
		}
		ev.Str("server", t.Server).Str("tool", t.MCP.Name).Str("tool_use_id", c.ToolUseID).
			Dur("took", time.Since(start)).Msg("tool call")
		return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(res.Text)}, IsError: res.IsError}, nil
	}
}

// run calls the tool, turning a panic into an error result so one bad call
// does not take the server, and every other tool, away from the session.
func run(ctx context.Context, t Tool, c ext.Call, log zerolog.Logger) (res ext.Result) {
	defer func() {
		if r := recover(); r != nil {
			log.Error().Str("tool", t.MCP.Name).Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("tool panicked")
			res = ext.Errorf("tool %s failed with an internal error: %v", t.MCP.Name, r)
		}
	}()
	if c.Args == nil {
		c.Args = map[string]any{}
	}
	return t.handler(ctx, c)
}

func toolUseID(req mcp.CallToolRequest) string {
	if req.Params.Meta == nil {
		return ""
	}
	id, _ := req.Params.Meta.AdditionalFields[ToolUseIDMeta].(string)
	return id
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// serving guards mcp-go's stdio transport, whose client session is a
// package-level value: one process serves one stdio connection at a time.
var serving sync.Mutex

// Serve serves one extension on in and out until in ends or ctx is done.
func Serve(ctx context.Context, e *ext.Extension, env ext.Env, in io.Reader, out io.Writer, opts Options) error {
	return ServeAll(ctx, []*ext.Extension{e}, env, in, out, opts)
}

// ServeAll serves several extensions as one MCP server, their tools side
// by side (in gateway mode, one gateway tool per extension with several
// tools). It returns nil when in ends and ctx.Err() when ctx is done; a
// process serves one connection at a time.
func ServeAll(ctx context.Context, exts []*ext.Extension, env ext.Env, in io.Reader, out io.Writer, opts Options) error {
	s, err := New(exts, env, opts)
	if err != nil {
		return err
	}
	if !serving.TryLock() {
		return errors.New("mcpserver: this process already serves an MCP connection")
	}
	defer serving.Unlock()
	w := &lockedWriter{w: out}
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(log.New(logWriter{opts.Log}, "", 0))
	// Tools that wait for a person (ask_user) hold a worker for their whole
	// wait; mcp-go's default of 5 would queue a sixth call behind them.
	server.WithWorkerPoolSize(32)(stdio)
	return stdio.Listen(ctx, newDiscoverFilter(in, w, opts.Log), w)
}

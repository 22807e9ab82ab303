// Package hello is an example third-party ce extension, to copy: an
// executable named ce-ext-hello that answers "manifest" with what it
// provides, "mcp" with a stdio MCP server (one tool, hello), and "serve"
// with a daemon that ce up keeps running. Enable it with
// `enabled: [..., hello]` in ce's config.
package hello

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Manifest is what "ce-ext-hello manifest" prints.
func Manifest() map[string]any {
	return map[string]any{
		"name":        "hello",
		"description": "An example ce extension: a greeting tool and a daemon.",
		"daemon":      []string{"ce-ext-hello", "serve"},
		"mcp":         []string{"ce-ext-hello", "mcp"},
		"tools": []map[string]any{{
			"name":         "hello",
			"description":  "Greet someone by name.",
			"input_schema": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}},
		}},
		"prompt": "The ce_hello server has a hello tool that greets people.",
	}
}

// Main runs the extension's commands and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ce-ext-hello manifest|mcp|serve")
		return 2
	}
	switch args[0] {
	case "manifest":
		json.NewEncoder(stdout).Encode(Manifest())
		return 0
	case "mcp":
		s := server.NewMCPServer("ce_hello", "0.1.0", server.WithToolCapabilities(true))
		s.AddTool(mcp.NewTool("hello", mcp.WithDescription("Greet someone by name."),
			mcp.WithString("name", mcp.Required()), mcp.WithReadOnlyHintAnnotation(true),
			mcp.WithDestructiveHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(false)),
			func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				name, err := req.RequireString("name")
				if err != nil {
					return mcp.NewToolResultError(err.Error()), nil
				}
				return mcp.NewToolResultText("Hello, " + name + ", from a ce extension."), nil
			})
		if err := server.NewStdioServer(s).Listen(context.Background(), stdin, stdout); err != nil && err != io.EOF {
			fmt.Fprintln(stderr, "ce-ext-hello:", err)
			return 1
		}
		return 0
	case "serve":
		// A daemon: here it only waits; SIGHUP is a reload, SIGTERM ends it.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		fmt.Fprintln(stdout, "ce-ext-hello: daemon running")
		for s := range sig {
			if s == syscall.SIGHUP {
				fmt.Fprintln(stdout, "ce-ext-hello: reloaded")
				continue
			}
			return 0
		}
		return 0
	default:
		fmt.Fprintf(stderr, "ce-ext-hello: unknown command %q\n", args[0])
		return 2
	}
}

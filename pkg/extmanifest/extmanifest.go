// Package extmanifest finds third-party extensions: an executable named
// ce-ext-NAME on PATH that answers `ce-ext-NAME manifest` with a JSON
// Manifest. Enabling NAME in config makes ce up run its daemon and every
// run get its MCP server (as ce_NAME) with its prompt fragment. The
// manifest format is a contract for extension authors.
package extmanifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/ce-platform/ce/pkg/text"
)

// Prefix starts the executable name of every extension.
const Prefix = "ce-ext-"

// Manifest is what `ce-ext-NAME manifest` prints.
type Manifest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Daemon is the command ce up runs and keeps running (empty: none).
	// The first word may be the bare name of the extension's executable.
	Daemon []string `json:"daemon,omitempty"`
	// MCP is the command of its stdio MCP server (empty: none).
	MCP []string `json:"mcp,omitempty"`
	// Tools describe the server's tools, for people (ce-mcp tools).
	Tools []Tool `json:"tools,omitempty"`
	// Prompt is added to the system prompt of runs that get the server.
	Prompt string `json:"prompt,omitempty"`
	// TimeoutMS is claude's limit for one tool call of the server.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`

	// Path is where the executable was found (not part of the JSON).
	Path string `json:"-"`
}

// Tool is one tool of an extension's MCP server.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
}

// ErrNotFound means no ce-ext-NAME is on PATH.
var ErrNotFound = errors.New("extension not found")

// Load finds ce-ext-NAME on PATH and reads its manifest.
func Load(ctx context.Context, name string) (*Manifest, error) {
	if !text.IsLowerName(name) {
		return nil, fmt.Errorf("%q is not an extension name", name)
	}
	path, err := exec.LookPath(Prefix + name)
	if err != nil {
		return nil, fmt.Errorf("%w: no %s%s on PATH", ErrNotFound, Prefix, name)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "manifest").Output()
	if err != nil {
		return nil, fmt.Errorf("%s manifest: %v", path, err)
	}
	var m Manifest
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%s manifest: not a manifest: %v", path, err)
	}
	if m.Name != name {
		return nil, fmt.Errorf("%s manifest names itself %q, not %q", path, m.Name, name)
	}
	m.Path = path
	m.Daemon = resolve(m.Daemon, path, name)
	m.MCP = resolve(m.MCP, path, name)
	return &m, nil
}

// resolve makes a command that starts with the extension's own bare name
// use the path it was found at, so claude and ce up need no PATH for it.
func resolve(cmd []string, path, name string) []string {
	if len(cmd) > 0 && cmd[0] == Prefix+name {
		return append([]string{path}, cmd[1:]...)
	}
	return cmd
}

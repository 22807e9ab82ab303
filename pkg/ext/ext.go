// Package ext defines ce's extensions as MCP tool sets: each built-in
// extension (ask, sessions, vault, memory, cron, heartbeat, agents) is an
// Extension with tools, an optional system prompt fragment, and the name of
// the MCP server (ce_<name>) that ce-mcp serves it as. Third-party
// extensions describe themselves with the same fields in their manifest.
//
// The types here are a contract between ce-mcp, the queue worker (which
// writes mcp.json and the --allowedTools of each run) and the extensions.
package ext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/statedir"
)

// ServerPrefix starts the MCP server name of every built-in extension.
const ServerPrefix = "ce_"

// Env is what an extension's tools work with: the state directory, the
// configuration and the session that runs them (from CE_SESSION).
type Env struct {
	State   *statedir.Dir
	Config  *config.Config
	Session string
	// BridgeSocket is the broker's socket (CE_BRIDGE_SOCKET); tools that
	// wait for an answer are woken through it, and fall back to polling
	// their store when no broker runs.
	BridgeSocket string
}

// Call is one tool call.
type Call struct {
	Env  Env
	Args map[string]any
	// ToolUseID is claude's id of the call ("_meta" "claudecode/toolUseId").
	ToolUseID string
}

// Caller returns the session making the call, or an error result saying
// why the tool cannot run: tools that act for a session need the state
// directory and CE_SESSION.
func (c Call) Caller(tool string) (string, Result, bool) {
	if c.Env.State == nil {
		return "", Errorf("%s has no state directory (CE_STATE_DIR is not set)", tool), false
	}
	if c.Env.Session == "" {
		return "", Errorf("%s works only inside a ce session (CE_SESSION is not set)", tool), false
	}
	return c.Env.Session, Result{}, true
}

// String returns a string argument, "" when absent.
func (c Call) String(name string) string {
	s, _ := c.Args[name].(string)
	return s
}

// RequireString returns a non-empty string argument or an error naming it.
func (c Call) RequireString(name string) (string, error) {
	s, ok := c.Args[name].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("argument %q is required (a non-empty string)", name)
	}
	return s, nil
}

// Duration returns a duration argument given as seconds (a number) or a Go
// duration string ("90s", "5m"); def when absent.
func (c Call) Duration(name string, def time.Duration) (time.Duration, error) {
	switch v := c.Args[name].(type) {
	case nil:
		return def, nil
	case float64:
		return time.Duration(v * float64(time.Second)), nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("argument %q: %v (use seconds or a duration like \"5m\")", name, err)
		}
		return d, nil
	default:
		return 0, fmt.Errorf("argument %q must be a number of seconds or a duration string", name)
	}
}

// Result is a tool's answer: text for the model, and IsError for a failed
// call (claude shows it to the model as an error).
type Result struct {
	Text    string
	IsError bool
}

// Errorf returns an error result.
func Errorf(format string, args ...any) Result {
	return Result{Text: fmt.Sprintf(format, args...), IsError: true}
}

// JSON returns a result holding v as indented JSON.
func JSON(v any) Result {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return Errorf("encode result: %v", err)
	}
	return Result{Text: string(b)}
}

// Tool is one MCP tool.
type Tool struct {
	Name        string
	Description string
	// Schema is the JSON schema of the input object.
	Schema map[string]any
	// ReadOnly and Destructive become MCP tool annotations.
	ReadOnly    bool
	Destructive bool
	Handler     func(ctx context.Context, c Call) Result
}

// Extension is a set of tools served as one MCP server.
type Extension struct {
	// Name is the extension's name in config ("ask"); its server is
	// ServerPrefix+Name ("ce_ask").
	Name        string
	Description string
	Tools       []Tool
	// Prompt is appended to the system prompt of runs that get this
	// extension's server, and only those.
	Prompt string
	// PromptFunc, when set, is called as each such run's command line is
	// built, and what it returns is appended to Prompt: a fragment that
	// depends on the stores (the memory's note titles). It runs in the
	// queue worker, so it must be quick and must not need the extension's
	// handlers; a failure is an empty string, never a failed run.
	PromptFunc func(ctx context.Context, env Env) string
	// Timeout is the MCP tool timeout claude should allow the server's
	// calls (claude cuts calls off at a hard wall-clock limit); zero
	// leaves claude's default.
	Timeout time.Duration
}

// Server is the MCP server name of the extension.
func (e *Extension) Server() string { return ServerPrefix + e.Name }

// Tool returns the named tool.
func (e *Extension) Tool(name string) (*Tool, bool) {
	for i := range e.Tools {
		if e.Tools[i].Name == name {
			return &e.Tools[i], true
		}
	}
	return nil, false
}

var (
	mu       sync.Mutex
	registry = map[string]func() *Extension{}
	attach   = map[string][]func(*Extension){}
)

// RegisterHandlers adds a hook that fills in tool handlers of a registered
// extension when it is looked up. An extension whose handlers pull heavy
// dependencies (SQLite, say) registers its metadata with Register in a
// light package, and its handlers with RegisterHandlers in a package that
// only ce-mcp imports: the queue worker, which needs only names, prompts
// and timeouts to write mcp.json, then does not link them.
func RegisterHandlers(name string, fill func(*Extension)) {
	mu.Lock()
	defer mu.Unlock()
	attach[name] = append(attach[name], fill)
}

// Register makes a built-in extension known by name; extension packages
// call it from init.
func Register(name string, build func() *Extension) {
	mu.Lock()
	defer mu.Unlock()
	registry[name] = build
}

// Lookup returns a registered extension, with the handlers that were
// registered for it in this program.
func Lookup(name string) (*Extension, bool) {
	mu.Lock()
	build, ok := registry[name]
	fills := append([]func(*Extension){}, attach[name]...)
	mu.Unlock()
	if !ok {
		return nil, false
	}
	e := build()
	for _, fill := range fills {
		fill(e)
	}
	return e, true
}

// Names lists the registered extensions, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Schema builds a JSON object schema: props maps each property to its
// schema, required lists the required ones.
func Schema(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// Prop is a property schema of a type with a description.
func Prop(typ, description string) map[string]any {
	return map[string]any{"type": typ, "description": description}
}

// StringList reads an optional list of strings. Models sometimes send the
// list as a JSON string, which is accepted too.
func StringList(v any, name string) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("argument %q: item %d is not a string", name, i+1)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		var out []string
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, errors.New("argument \"" + name + "\" must be an array of strings")
		}
		return out, nil
	}
	return nil, fmt.Errorf("argument %q must be an array of strings", name)
}

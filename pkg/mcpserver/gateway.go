package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/mark3labs/mcp-go/mcp"
)

// The gateway tool's own argument and its help action.
const (
	ActionArg  = "action"
	HelpAction = "help"
)

// Gateway returns the one tool an extension is folded into in gateway
// mode. It is named after the extension's server (ce_memory) and takes a
// required "action" naming one of the extension's tools, plus the union of
// their arguments; it checks the action's required arguments and runs
// that tool. action "help" lists every action with its description and
// parameters; an unknown action is an error result listing the actions.
// Fewer tools mean a shorter tool list for the model to read, at the cost
// of one help call when it needs the details.
func Gateway(e *ext.Extension) (Tool, error) {
	name := e.Server()
	actions := make([]string, 0, len(e.Tools))
	for i := range e.Tools {
		t := &e.Tools[i]
		if t.Handler == nil {
			return Tool{}, fmt.Errorf("extension %s: tool %s has no handler", e.Name, t.Name)
		}
		if t.Name == HelpAction {
			return Tool{}, fmt.Errorf("extension %s: a tool named %q cannot be served in gateway mode", e.Name, HelpAction)
		}
		if _, ok := properties(t.Schema)[ActionArg]; ok {
			return Tool{}, fmt.Errorf("extension %s: tool %s has an argument named %q, which gateway mode uses", e.Name, t.Name, ActionArg)
		}
		actions = append(actions, t.Name)
	}
	props := map[string]any{
		ActionArg: map[string]any{
			"type":        "string",
			"enum":        append(slices.Clone(actions), HelpAction),
			"description": fmt.Sprintf("The action: one of %s; %q describes every action and its arguments.", strings.Join(actions, ", "), HelpAction),
		},
	}
	for k, v := range unionProperties(e) {
		props[k] = v
	}
	schema, err := schemaJSON(ext.Schema(props, ActionArg))
	if err != nil {
		return Tool{}, fmt.Errorf("extension %s: %w", e.Name, err)
	}
	m := mcp.NewToolWithRawSchema(name, gatewayDescription(e, actions), schema)
	readOnly, destructive := true, false
	for _, t := range e.Tools {
		readOnly = readOnly && t.ReadOnly
		destructive = destructive || t.Destructive
	}
	m.Annotations = annotations(readOnly, destructive)
	g := &gateway{ext: e, actions: actions}
	return Tool{Server: name, Extension: e.Name, MCP: m, handler: g.call}, nil
}

func gatewayDescription(e *ext.Extension, actions []string) string {
	var b strings.Builder
	if d := strings.TrimSpace(e.Description); d != "" {
		b.WriteString(d)
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Set %q to one of these actions and pass that action's arguments:\n", ActionArg)
	for _, t := range e.Tools {
		fmt.Fprintf(&b, "- %s: %s\n", t.Name, firstLine(strings.TrimSpace(t.Description)))
	}
	fmt.Fprintf(&b, "Action %q lists every action's arguments.", HelpAction)
	return b.String()
}

type gateway struct {
	ext     *ext.Extension
	actions []string
}

func (g *gateway) call(ctx context.Context, c ext.Call) ext.Result {
	action, _ := c.Args[ActionArg].(string)
	switch {
	case action == HelpAction:
		return ext.Result{Text: g.help()}
	case action == "":
		return ext.Errorf("argument %q is required: one of %s, or %q to describe them", ActionArg, strings.Join(g.actions, ", "), HelpAction)
	}
	t, ok := g.ext.Tool(action)
	if !ok {
		return ext.Errorf("unknown action %q for %s; the actions are %s, and %q describes them", action, g.ext.Server(), strings.Join(g.actions, ", "), HelpAction)
	}
	args := make(map[string]any, len(c.Args))
	for k, v := range c.Args {
		if k != ActionArg {
			args[k] = v
		}
	}
	props := properties(t.Schema)
	for _, r := range required(t.Schema) {
		if _, ok := args[r]; !ok {
			return ext.Errorf("action %s needs argument %q%s\n\n%s", action, r, paramSummary(props[r]), actionHelp(t))
		}
	}
	c.Args = args
	return t.Handler(ctx, c)
}

func (g *gateway) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s actions: call %s with %q set to one of them and that action's arguments.\n", g.ext.Server(), g.ext.Server(), ActionArg)
	for i := range g.ext.Tools {
		b.WriteString("\n")
		b.WriteString(actionHelp(&g.ext.Tools[i]))
	}
	return b.String()
}

// actionHelp describes one action: its description and each parameter with
// type, whether it is required, and its description.
func actionHelp(t *ext.Tool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", t.Name, strings.TrimSpace(t.Description))
	props := properties(t.Schema)
	req := required(t.Schema)
	if len(props) == 0 {
		b.WriteString("  (no arguments)\n")
	}
	for _, k := range sortedKeys(props) {
		flag := "optional"
		if slices.Contains(req, k) {
			flag = "required"
		}
		fmt.Fprintf(&b, "  %s (%s, %s)", k, typeName(props[k]), flag)
		if p, ok := props[k].(map[string]any); ok {
			if d, _ := p["description"].(string); d != "" {
				fmt.Fprintf(&b, ": %s", d)
			}
			if enum, ok := p["enum"].([]any); ok {
				fmt.Fprintf(&b, " One of: %s.", joinAny(enum))
			} else if enum, ok := p["enum"].([]string); ok {
				fmt.Fprintf(&b, " One of: %s.", strings.Join(enum, ", "))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func paramSummary(p any) string {
	m, ok := p.(map[string]any)
	if !ok {
		return ""
	}
	s := " (" + typeName(m) + ")"
	if d, _ := m["description"].(string); d != "" {
		s += ": " + d
	}
	return s
}

func typeName(p any) string {
	m, _ := p.(map[string]any)
	switch t := m["type"].(type) {
	case string:
		if t == "array" {
			if items, ok := m["items"].(map[string]any); ok {
				if it, ok := items["type"].(string); ok {
					return "array of " + it
				}
			}
		}
		return t
	case []any:
		return joinAny(t)
	case []string:
		return strings.Join(t, " or ")
	}
	return "any"
}

func joinAny(vs []any) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// unionProperties merges the arguments of all tools of e. An argument
// several actions share keeps its schema when they agree; differing
// descriptions are joined per action, and differing schemas leave only the
// description, as the handler of the chosen action checks its own.
func unionProperties(e *ext.Extension) map[string]any {
	type use struct {
		action string
		schema map[string]any
	}
	uses := map[string][]use{}
	var order []string
	for _, t := range e.Tools {
		props := properties(t.Schema)
		for _, k := range sortedKeys(props) {
			p, _ := props[k].(map[string]any)
			if _, seen := uses[k]; !seen {
				order = append(order, k)
			}
			uses[k] = append(uses[k], use{t.Name, p})
		}
	}
	out := map[string]any{}
	for _, k := range order {
		us := uses[k]
		merged := clone(us[0].schema)
		sameShape, sameDesc := true, true
		for _, u := range us[1:] {
			a, b := clone(us[0].schema), clone(u.schema)
			delete(a, "description")
			delete(b, "description")
			sameShape = sameShape && reflect.DeepEqual(a, b)
			sameDesc = sameDesc && us[0].schema["description"] == u.schema["description"]
		}
		if !sameShape {
			merged = map[string]any{}
		}
		var names []string
		for _, u := range us {
			names = append(names, u.action)
		}
		desc, _ := us[0].schema["description"].(string)
		if !sameDesc || !sameShape {
			var parts []string
			for _, u := range us {
				d, _ := u.schema["description"].(string)
				parts = append(parts, fmt.Sprintf("%s: %s", u.action, strings.TrimSpace(d+" ("+typeName(u.schema)+")")))
			}
			desc = strings.Join(parts, "; ")
		} else {
			desc = strings.TrimSpace(desc + " (for " + strings.Join(names, ", ") + ")")
		}
		merged["description"] = desc
		out[k] = merged
	}
	return out
}

func properties(schema map[string]any) map[string]any {
	p, _ := schema["properties"].(map[string]any)
	return p
}

func required(schema map[string]any) []string {
	switch r := schema["required"].(type) {
	case []string:
		return r
	case []any:
		var out []string
		for _, v := range r {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// schemaJSON encodes an input schema, which MCP wants to be an object
// schema; nil means no arguments.
func schemaJSON(schema map[string]any) (json.RawMessage, error) {
	s := clone(schema)
	if s["type"] == nil {
		s["type"] = "object"
	}
	if s["type"] != "object" {
		return nil, fmt.Errorf("input schema has type %v, want object", s["type"])
	}
	if s["properties"] == nil {
		s["properties"] = map[string]any{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	return b, nil
}

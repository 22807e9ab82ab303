package mcpcmd

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/mcpconfig"
	"github.com/ce-platform/ce/pkg/mcpserver"
)

// ToolsCmd lists tools.
type ToolsCmd struct {
	Ext     []string `arg:"" optional:"" name:"ext" help:"Extensions to list (default: all)."`
	Gateway bool     `help:"Show the tools as gateway mode serves them (also mcp.gateway in config)."`
	JSON    bool     `name:"json" help:"Print one JSON object per tool."`
}

// toolJSON is one line of tools --json.
type toolJSON struct {
	Server      string          `json:"server"`
	Extension   string          `json:"extension"`
	Name        string          `json:"name"`
	FullName    string          `json:"full_name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
	ReadOnly    bool            `json:"read_only"`
	Destructive bool            `json:"destructive"`
}

// Run prints the tools.
func (c *ToolsCmd) Run(env *clikit.Env) error {
	names := c.Ext
	if len(names) == 0 {
		names = ext.Names()
	}
	exts, err := lookup(names)
	if err != nil {
		return err
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	gateway := c.Gateway || cfg.MCP.Gateway
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, e := range exts {
			tools, err := mcpserver.Tools([]*ext.Extension{e}, gateway)
			if err != nil {
				return err
			}
			for _, t := range tools {
				b, _ := t.MCP.MarshalJSON()
				var m struct {
					InputSchema json.RawMessage `json:"inputSchema"`
				}
				_ = json.Unmarshal(b, &m)
				a := t.MCP.Annotations
				if err := enc.Encode(toolJSON{
					Server: t.Server, Extension: t.Extension, Name: t.MCP.Name,
					FullName:    mcpconfig.ToolPrefix + t.Server + "__" + t.MCP.Name,
					Description: t.MCP.Description, InputSchema: m.InputSchema,
					ReadOnly: a.ReadOnlyHint != nil && *a.ReadOnlyHint, Destructive: a.DestructiveHint != nil && *a.DestructiveHint,
				}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(exts) == 0 {
		env.Infof("no extensions are built in")
		return nil
	}
	for i, e := range exts {
		tools, err := mcpserver.Tools([]*ext.Extension{e}, gateway)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(env.Stdout)
		}
		fmt.Fprintf(env.Stdout, "%s (extension %s", e.Server(), e.Name)
		if cfg.Enabled.Has(e.Name) {
			fmt.Fprint(env.Stdout, ", enabled")
		}
		fmt.Fprintf(env.Stdout, "): %s\n", e.Description)
		for _, t := range tools {
			printTool(env, t)
		}
	}
	return nil
}

func printTool(env *clikit.Env, t mcpserver.Tool) {
	a := t.MCP.Annotations
	kind := "writes"
	switch {
	case a.ReadOnlyHint != nil && *a.ReadOnlyHint:
		kind = "read-only"
	case a.DestructiveHint != nil && *a.DestructiveHint:
		kind = "destructive"
	}
	fmt.Fprintf(env.Stdout, "\n  %s%s__%s  (%s)\n", mcpconfig.ToolPrefix, t.Server, t.MCP.Name, kind)
	for _, line := range strings.Split(strings.TrimSpace(t.MCP.Description), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			fmt.Fprintln(env.Stdout)
			continue
		}
		fmt.Fprintf(env.Stdout, "    %s\n", line)
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	_ = json.Unmarshal(t.MCP.RawInputSchema, &schema)
	names := make([]string, 0, len(schema.Properties))
	for k := range schema.Properties {
		names = append(names, k)
	}
	// required arguments first, each group by name
	sort.Slice(names, func(i, j int) bool {
		ri, rj := slices.Contains(schema.Required, names[i]), slices.Contains(schema.Required, names[j])
		if ri != rj {
			return ri
		}
		return names[i] < names[j]
	})
	if len(names) > 0 {
		fmt.Fprintln(env.Stdout, "    arguments:")
	}
	for _, k := range names {
		p := schema.Properties[k]
		flag := "optional"
		if slices.Contains(schema.Required, k) {
			flag = "required"
		}
		fmt.Fprintf(env.Stdout, "      %s (%s, %s)", k, typeOf(p), flag)
		if d, _ := p["description"].(string); d != "" {
			fmt.Fprintf(env.Stdout, ": %s", d)
		}
		fmt.Fprintln(env.Stdout)
	}
}

func typeOf(p map[string]any) string {
	switch t := p["type"].(type) {
	case string:
		if t == "array" {
			if items, ok := p["items"].(map[string]any); ok {
				if it, ok := items["type"].(string); ok {
					return "array of " + it
				}
			}
		}
		return t
	case []any:
		s := make([]string, len(t))
		for i, v := range t {
			s[i] = fmt.Sprint(v)
		}
		return strings.Join(s, " or ")
	}
	return "any"
}

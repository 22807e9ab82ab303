// Package echo is a harmless extension for demonstrations and end-to-end
// tests: ce_echo echoes text and adds numbers, touching nothing. Enable it
// with `enabled: [echo]` to check that claude reaches ce's MCP servers.
package echo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ce-platform/ce/pkg/ext"
)

// Name is the extension's name in config.
const Name = "echo"

func init() { ext.Register(Name, New) }

// New returns the echo extension.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Echo text and add numbers; a harmless extension for checking that MCP works.",
		Prompt:      "The ce_echo tools echo text.",
		Tools: []ext.Tool{
			{
				Name:        "echo",
				Description: "Return the given text unchanged.",
				Schema:      ext.Schema(map[string]any{"text": ext.Prop("string", "The text to echo.")}, "text"),
				ReadOnly:    true,
				Handler:     echoText,
			},
			{
				Name:        "add",
				Description: "Add two numbers and return the sum.",
				Schema: ext.Schema(map[string]any{
					"a": ext.Prop("number", "The first addend."),
					"b": ext.Prop("number", "The second addend."),
				}, "a", "b"),
				ReadOnly: true,
				Handler:  add,
			},
		},
	}
}

func echoText(_ context.Context, c ext.Call) ext.Result {
	s, ok := c.Args["text"].(string)
	if !ok {
		return ext.Errorf("argument %q is required (a string)", "text")
	}
	return ext.Result{Text: s}
}

func add(_ context.Context, c ext.Call) ext.Result {
	a, err := number(c, "a")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	b, err := number(c, "b")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	return ext.Result{Text: strconv.FormatFloat(a+b, 'g', -1, 64)}
}

// number accepts a JSON number or a numeric string, as models sometimes
// quote numbers.
func number(c ext.Call, name string) (float64, error) {
	switch v := c.Args[name].(type) {
	case float64:
		return v, nil
	case string:
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("argument %q is required (a number)", name)
}

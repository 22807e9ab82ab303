package config

import (
	"errors"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that Parse never panics, returns only *Error, and that
// whatever it accepts is valid and survives a marshal and parse unchanged.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(examplePath); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"", "# c\n", "agent:\n  modle: x\n", "sessions:\n  max_per_user: five\n",
		"agent:\n  env: {A: b}\n  args: [x]\n", "events:\n  max_size: 1.5KiB\n",
		"agent: &a\n  <<: *a\n", "a: &a [*a, *a]\nb: *a\n", "agent:\n  <<: [{command: x}, {model: y}]\n",
		"sessions:\n  keep_warm: 30\n", "log: {level: !!binary aW5mbw==}\n", "x: [\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Setenv("HOME", "/home/u")
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		back, err := Parse(out, "out.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal(c)) = %v\n%s", err, out)
		}
		if !sameConfig(c, back) {
			t.Fatalf("round trip changed config:\n%s\n got %+v\nwant %+v", out, *back, *c)
		}
	})
}

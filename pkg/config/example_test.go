package config

import (
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

const examplePath = "../../config.example.yaml"

// The example must configure exactly the defaults.
func TestExampleIsDefault(t *testing.T) {
	c, err := Load(examplePath, true)
	if err != nil {
		t.Fatal(err)
	}
	if !sameConfig(c, Default()) {
		t.Errorf("%s does not give Default():\n got %+v\nwant %+v", examplePath, *c, *Default())
	}
}

// The example must name every key of the schema, each with a comment, so it
// cannot fall behind the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*yaml.Node{}
	collectKeys(doc.Content[0], "", reflect.TypeFor[Config](), keys)
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		k, ok := keys[key]
		switch {
		case !ok:
			t.Errorf("%s does not set %s", examplePath, key)
		case k.HeadComment == "" && k.LineComment == "":
			t.Errorf("%s:%d: %s has no comment", examplePath, k.Line, key)
		}
	}
}

// schemaKeys lists the dotted keys of t: sections and every leaf under them.
func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for _, f := range structFields(t) {
		key := join(prefix, f.name)
		keys = append(keys, key)
		if f.typ.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(f.typ, key)...)
		}
	}
	return keys
}

// collectKeys records the key nodes of the mapping n under their dotted keys,
// descending only into struct-typed values.
func collectKeys(n *yaml.Node, prefix string, t reflect.Type, keys map[string]*yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	fields := structFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := join(prefix, k.Value)
		keys[key] = k
		for _, f := range fields {
			if f.name == k.Value && f.typ.Kind() == reflect.Struct {
				collectKeys(v, key, f.typ, keys)
			}
		}
	}
}

func TestSchemaKeys(t *testing.T) {
	keys := schemaKeys(reflect.TypeFor[Config](), "")
	for _, want := range []string{"agent", "agent.permission_mode", "sessions.keep_warm", "events.max_size", "log.level"} {
		found := false
		for _, k := range keys {
			found = found || k == want
		}
		if !found {
			t.Errorf("schemaKeys lacks %s: %v", want, keys)
		}
	}
}

package pkgdoc

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Doc        string
	Name       string
	Deps       []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/ce-platform/ce/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestEveryPackageHasAComment(t *testing.T) {
	for _, p := range list(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package comment", p.ImportPath)
		}
	}
}

// TestLayers: stores never import the CLI, a logger setup or the test kit;
// binaries do not link the test kit.
func TestLayers(t *testing.T) {
	const mod = "github.com/ce-platform/ce/"
	forbidden := map[string][]string{
		"pkg/store":        {"pkg/cli/", "pkg/dispatch", "pkg/testkit/", "github.com/rs/zerolog"},
		"pkg/queue":        {"pkg/cli/", "pkg/dispatch", "pkg/testkit/", "github.com/rs/zerolog"},
		"pkg/session":      {"pkg/cli/", "pkg/dispatch", "pkg/testkit/", "github.com/rs/zerolog"},
		"pkg/eventlog":     {"pkg/cli/", "pkg/testkit/", "github.com/rs/zerolog"},
		"pkg/pending":      {"pkg/cli/", "pkg/dispatch", "pkg/testkit/", "pkg/bridge", "github.com/rs/zerolog"},
		"pkg/config":       {"pkg/cli/", "pkg/testkit/", "github.com/rs/zerolog"},
		"pkg/streamjson":   {"pkg/cli/", "pkg/testkit/"},
		"cmd/ce":           {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-session":   {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-queue":     {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-mcp":       {"pkg/testkit/"},
		"cmd/ce-cron":      {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-heartbeat": {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-vault":     {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
		"cmd/ce-bridge":    {"pkg/testkit/", "github.com/mark3labs/mcp-go", "modernc.org/sqlite"},
	}
	for _, p := range list(t) {
		rules, ok := forbidden[strings.TrimPrefix(p.ImportPath, mod)]
		if !ok {
			continue
		}
		for _, d := range p.Deps {
			for _, f := range rules {
				if strings.HasPrefix(d, mod+f) || strings.HasPrefix(d, f) {
					t.Errorf("%s imports %s", p.ImportPath, d)
				}
			}
		}
	}
}

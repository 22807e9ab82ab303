package builtin

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ce-platform/ce/pkg/ext"
)

// TestMetadataOnly: the queue worker links the extensions through this
// package, so it must not pull the stores and clients of their handlers.
func TestMetadataOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/ce-platform/ce/pkg/ext/builtin").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ce-platform/ce/"
	forbidden := map[string]bool{}
	for _, p := range []string{"pkg/heartbeat", "pkg/vault", "pkg/cronjob", "pkg/pending", "pkg/memory", "pkg/platform", "pkg/queue", "pkg/bridge"} {
		forbidden[mod+p] = true
	}
	// github.com/adhocore/gronx is not listed: package config, which
	// package ext needs, validates cron expressions with it.
	modules := []string{"filippo.io/age", "modernc.org/sqlite"}
	for _, dep := range strings.Fields(string(out)) {
		if forbidden[dep] {
			t.Errorf("package builtin links %s", dep)
		}
		for _, m := range modules {
			if dep == m || strings.HasPrefix(dep, m+"/") {
				t.Errorf("package builtin links %s", dep)
			}
		}
	}
}

// Every built-in extension is registered, and only echo, whose handlers
// need nothing but package ext, has handlers without package
// builtin/handlers.
func TestRegistered(t *testing.T) {
	want := []string{"ask", "cron", "echo", "heartbeat", "memory", "sessions", "vault"}
	if got := ext.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	for _, n := range want {
		e, _ := ext.Lookup(n)
		for _, tl := range e.Tools {
			if (tl.Handler != nil) != (n == "echo") {
				t.Errorf("%s: tool %s has handler %v", n, tl.Name, tl.Handler != nil)
			}
		}
	}
}

package deps

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/ce-platform/ce/"

// links is what each program may link of ce's packages (pkg/...). A program
// that links something new fails the test: either it should not (a light
// command pulling the platform in), or the table gains the package, in the
// same change, on purpose.
var links = map[string][]string{
	"ce":           {"agentenv", "binpath", "bridge", "cli/cecmd", "cli/clikit", "clidoc", "config", "daemon", "extmanifest", "lockfile", "statedir", "supervisor", "text", "tmux"},
	"ce-session":   {"agentenv", "binpath", "bridge", "cli/clikit", "cli/sessioncmd", "clidoc", "config", "dispatch", "eventlog", "ext", "ext/ask", "ext/ask/asknotify", "ext/builtin", "ext/cron", "ext/echo", "ext/heartbeat", "ext/memory", "ext/sessions", "ext/vault", "extmanifest", "lockfile", "mcpconfig", "memory/memdir", "origin", "pending", "platform", "queue", "render", "rundir", "runner", "runner/identity", "session", "statedir", "store", "streamjson", "template", "text", "tmux"},
	"ce-queue":     {"agentenv", "binpath", "bridge", "cli/clikit", "cli/queuecmd", "clidoc", "config", "daemon", "dispatch", "eventlog", "ext", "ext/ask", "ext/builtin", "ext/cron", "ext/echo", "ext/heartbeat", "ext/memory", "ext/sessions", "ext/vault", "extmanifest", "lockfile", "mcpconfig", "memory/memdir", "platform", "queue", "render", "rundir", "runner", "runner/identity", "session", "statedir", "store", "streamjson", "template", "text", "tmux"},
	"ce-mcp":       {"agentenv", "binpath", "bridge", "cli/clikit", "cli/mcpcmd", "clidoc", "config", "cronjob", "daemon", "eventlog", "ext", "ext/ask", "ext/ask/asknotify", "ext/ask/tools", "ext/builtin", "ext/builtin/handlers", "ext/cron", "ext/cron/tools", "ext/echo", "ext/heartbeat", "ext/heartbeat/tools", "ext/memory", "ext/memory/tools", "ext/sessions", "ext/sessions/tools", "ext/vault", "ext/vault/tools", "extmanifest", "heartbeat", "lockfile", "mcpconfig", "mcpserver", "memory", "memory/memdir", "origin", "pending", "platform", "queue", "render", "rundir", "runner", "runner/identity", "session", "statedir", "store", "streamjson", "template", "text", "tmux", "vault"},
	"ce-bridge":    {"binpath", "bridge", "cli/bridgecmd", "cli/clikit", "clidoc", "config", "daemon", "lockfile", "statedir", "text"},
	"ce-vault":     {"binpath", "bridge", "cli/clikit", "cli/vaultcmd", "clidoc", "config", "daemon", "eventlog", "ext", "ext/ask/asknotify", "lockfile", "origin", "pending", "runner/identity", "statedir", "store", "text", "tmux", "vault"},
	"ce-memory":    {"cli/clikit", "cli/memorycmd", "clidoc", "config", "lockfile", "memory", "memory/memdir", "statedir", "text"},
	"ce-cron":      {"agentenv", "binpath", "bridge", "cli/clikit", "cli/croncmd", "clidoc", "config", "cronjob", "daemon", "eventlog", "lockfile", "platform", "queue", "render", "rundir", "runner", "runner/identity", "session", "statedir", "store", "streamjson", "template", "text", "tmux"},
	"ce-heartbeat": {"agentenv", "binpath", "bridge", "cli/clikit", "cli/heartbeatcmd", "clidoc", "config", "daemon", "eventlog", "heartbeat", "lockfile", "platform", "queue", "render", "rundir", "runner", "runner/identity", "session", "statedir", "store", "streamjson", "template", "text", "tmux"},
}

// heavy are modules only the programs that use them may link.
var heavy = map[string][]string{
	"modernc.org/sqlite":          {"ce-memory", "ce-mcp"},
	"filippo.io/age":              {"ce-vault", "ce-mcp"},
	"github.com/mark3labs/mcp-go": {"ce-mcp"},
	"github.com/go-telegram/bot":  {"ce-telegram"},
}

func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return out
}

func TestProgramsLinkWhatTheyUse(t *testing.T) {
	for prog, allowed := range links {
		t.Run(prog, func(t *testing.T) {
			deps := strings.Fields(string(goList(t, "-deps", "../../cmd/"+prog)))
			for _, d := range deps {
				if p, ok := strings.CutPrefix(d, mod+"pkg/"); ok && !slices.Contains(allowed, p) {
					t.Errorf("%s links pkg/%s, which is not in its table", prog, p)
				}
				for m, progs := range heavy {
					if (d == m || strings.HasPrefix(d, m+"/")) && !slices.Contains(progs, prog) {
						t.Errorf("%s links %s", prog, d)
					}
				}
			}
		})
	}
}

// Rules between packages: command packages do not import each other, and
// stores import no runner, platform, daemon or broker.
func TestImportRules(t *testing.T) {
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	out := goList(t, "-json=ImportPath,Imports", mod+"pkg/...")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	stores := []string{"store", "session", "queue", "pending", "eventlog", "rundir", "statedir", "lockfile", "memory/memdir"}
	forStores := []string{"runner", "platform", "dispatch", "daemon", "bridge"}
	n := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		name := strings.TrimPrefix(p.ImportPath, mod+"pkg/")
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, mod+"pkg/")
			if !ok {
				continue
			}
			if isCommand(name) && isCommand(dep) {
				t.Errorf("command package pkg/%s imports command package pkg/%s", name, dep)
			}
			if slices.Contains(stores, name) && slices.Contains(forStores, dep) {
				t.Errorf("store pkg/%s imports pkg/%s", name, dep)
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list found %d packages", n)
	}
}

// isCommand reports whether a package is one command's (pkg/cli/<x>cmd).
func isCommand(p string) bool {
	return strings.HasPrefix(p, "cli/") && strings.HasSuffix(p, "cmd") && !strings.Contains(strings.TrimPrefix(p, "cli/"), "/")
}

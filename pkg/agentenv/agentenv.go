// Package agentenv builds the environments of what ce starts for sessions
// (their runners, claude, the heartbeat's decision) and of its own tmux
// server: from an allowlist, never from everything ce was started with, so
// that ce's own variables (a vault passphrase file, a bot token file) and
// whatever else the person's shell holds never reach a session, where a
// tool could read /proc/PID/environ. It is an implementation detail of ce.
package agentenv

import (
	"slices"
	"strings"
)

// names are passed as they are; prefixes pass every variable they start.
var (
	names = []string{
		"HOME", "USER", "LOGNAME", "PATH", "SHELL", "TERM", "COLORTERM", "LANG", "TZ", "TMPDIR",
		"EDITOR", "VISUAL", "PAGER", "SSH_AUTH_SOCK", "IS_SANDBOX",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
	}
	prefixes = []string{"LC_", "XDG_", "ANTHROPIC_", "CLAUDE_", "DISABLE_", "AWS_", "GOOGLE_", "VERTEX_", "MCP_"}
	// never are refused even when a prefix or agent.env_pass names them: a
	// nested CLAUDECODE makes claude refuse to start, and ce's own
	// variables are not a session's.
	never = []string{"CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"}
)

// Allowed returns the variables of base a session may see: the allowlist
// above and the names in pass (agent.env_pass), never ce's own (CE_*).
func Allowed(base, pass []string) []string {
	out := make([]string, 0, len(base))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if allowed(name, pass) {
			out = append(out, kv)
		}
	}
	return out
}

func allowed(name string, pass []string) bool {
	if name == "" || strings.HasPrefix(name, "CE_") || slices.Contains(never, name) {
		return false
	}
	if slices.Contains(names, name) || slices.Contains(pass, name) {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Build returns the environment for claude: base as Allowed filters it,
// then agentEnv applied (it replaces variables of the same name).
func Build(base []string, agentEnv map[string]string, pass []string) []string {
	out := make([]string, 0, len(base)+len(agentEnv))
	for _, kv := range Allowed(base, pass) {
		name, _, _ := strings.Cut(kv, "=")
		if _, set := agentEnv[name]; !set {
			out = append(out, kv)
		}
	}
	for k, v := range agentEnv {
		out = append(out, k+"="+v)
	}
	return out
}

// Secret reports whether a variable of ce's own carries a secret or the
// way to one: the supervisor gives those only to the piece that needs them.
func Secret(name string) bool {
	return strings.HasPrefix(name, "CE_") && (strings.Contains(name, "PASSPHRASE") || strings.Contains(name, "TOKEN") || strings.Contains(name, "SECRET"))
}

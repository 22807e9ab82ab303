// Package agentenv builds the environment claude runs with, for a session's
// runs and for the heartbeat's decision alike: the environment ce was
// started with, cleaned of ce's own variables and of those that make claude
// think it is nested, then agent.env from the config applied. It is an
// implementation detail of ce.
package agentenv

import "strings"

// cleaned are removed: a nested CLAUDECODE makes claude refuse to start,
// and ce's own variables (CE_*) are not claude's.
var cleaned = []string{"CLAUDECODE=", "CLAUDE_CODE_ENTRYPOINT=", "CE_", "TMUX=", "TMUX_PANE="}

// Build returns the environment for claude: base cleaned, then agentEnv
// applied (it replaces variables of the same name).
func Build(base []string, agentEnv map[string]string) []string {
	out := make([]string, 0, len(base)+len(agentEnv))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if _, set := agentEnv[name]; set || dropped(kv) {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range agentEnv {
		out = append(out, k+"="+v)
	}
	return out
}

func dropped(kv string) bool {
	for _, p := range cleaned {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

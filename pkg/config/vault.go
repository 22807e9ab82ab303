package config

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Vault configures the vault agent (ce-vault serve) and what sessions may
// run with secrets (vault_exec).
type Vault struct {
	// AgentTimeout is how long the agent stays unlocked without being
	// used; 0 keeps it unlocked until ce-vault lock or the agent stops.
	AgentTimeout Duration `yaml:"agent_timeout"`
	// ExecAllow lists the commands vault_exec may run, as path.Match
	// patterns: a pattern without '/' matches a program named as a bare
	// word (looked up in PATH), one with '/' its absolute path. Empty
	// denies every command.
	ExecAllow []string `yaml:"exec_allow"`
}

func (v *Vault) setDefaults() {
	v.AgentTimeout = Duration(15 * time.Minute)
	v.ExecAllow = []string{}
}

func (v *Vault) validate(val *validator) {
	val.durationAtLeast("agent_timeout", v.AgentTimeout, 0)
	for i, p := range v.ExecAllow {
		key := fmt.Sprintf("exec_allow[%d]", i)
		switch {
		case strings.TrimSpace(p) == "":
			val.fail(key, "a pattern must not be empty")
		case strings.ContainsAny(p, "\x00"):
			val.fail(key, "a pattern must not contain NUL")
		default:
			if _, err := path.Match(p, ""); err != nil {
				val.fail(key, "%q is not a valid pattern (path.Match syntax: *, ?, [a-z], \\ escapes)", p)
			}
		}
	}
}

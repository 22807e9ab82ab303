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
	// Confirm lists what the person confirms before the agent acts: get
	// (ce-vault get) and exec (ce-vault exec), either of which makes every
	// value that leaves the agent confirmed, and tool (sessions'
	// vault_exec). Empty confirms nothing.
	Confirm []string `yaml:"confirm"`
	// ConfirmTimeout is how long a confirmation is waited for.
	ConfirmTimeout Duration `yaml:"confirm_timeout"`
}

// MaxConfirmTimeout bounds vault.confirm_timeout: claude's limit for a
// vault_exec call must cover the wait.
const MaxConfirmTimeout = 10 * time.Minute

// ConfirmKinds are the values vault.confirm accepts.
var ConfirmKinds = []string{"get", "exec", "tool"}

func (v *Vault) setDefaults() {
	v.AgentTimeout = Duration(15 * time.Minute)
	v.ExecAllow = []string{}
	v.Confirm = []string{"get", "exec"}
	v.ConfirmTimeout = Duration(2 * time.Minute)
}

func (v *Vault) validate(val *validator) {
	val.durationAtLeast("agent_timeout", v.AgentTimeout, 0)
	for i, c := range v.Confirm {
		val.oneOf(fmt.Sprintf("confirm[%d]", i), "value", c, ConfirmKinds, "")
	}
	val.durationAtLeast("confirm_timeout", v.ConfirmTimeout, Duration(time.Second))
	if v.ConfirmTimeout > Duration(MaxConfirmTimeout) {
		val.fail("confirm_timeout", "must be at most %s, got %s", Duration(MaxConfirmTimeout), v.ConfirmTimeout)
	}
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

package config

import (
	"slices"
	"testing"
	"time"
)

func TestVault(t *testing.T) {
	c, err := Parse([]byte("vault:\n  agent_timeout: 0s\n  exec_allow: [gh, \"/usr/local/bin/deploy-*\"]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Vault.AgentTimeout != 0 || !slices.Equal(c.Vault.ExecAllow, []string{"gh", "/usr/local/bin/deploy-*"}) {
		t.Errorf("vault = %+v", c.Vault)
	}
	if d := Default().Vault; time.Duration(d.AgentTimeout) != 15*time.Minute || d.ExecAllow == nil || len(d.ExecAllow) != 0 {
		t.Errorf("default vault = %+v", d)
	}
	for in, want := range map[string]string{
		"vault:\n  agent_timeout: -1m\n":        `c.yaml:2: vault.agent_timeout: must not be negative, got -1m`,
		"vault:\n  agent_timeout: 15\n":         `c.yaml:2: vault.agent_timeout: expected a duration, got 15 (use a unit, e.g. "15s")`,
		"vault:\n  exec_allow: [gh, \"[a-\"]\n": `c.yaml:2: vault.exec_allow[1]: "[a-" is not a valid pattern (path.Match syntax: *, ?, [a-z], \ escapes)`,
		"vault:\n  exec_allow:\n    - \"\"\n":   `c.yaml:3: vault.exec_allow[0]: a pattern must not be empty`,
		"vault:\n  confirm: [read]\n":           `c.yaml:2: vault.confirm[0]: unknown value "read" (use one of get, exec, tool)`,
		"vault:\n  confirm_timeout: 11m\n":      `c.yaml:2: vault.confirm_timeout: must be at most 10m, got 11m`,
		"vault:\n  confirm_timeout: 0s\n":       `c.yaml:2: vault.confirm_timeout: must be at least 1s, got 0s`,
		"vault:\n  exec_alow: [gh]\n":           `c.yaml:2: unknown key "vault.exec_alow" (did you mean "exec_allow"? known keys under vault: agent_timeout, confirm, confirm_timeout, exec_allow)`,
	} {
		if _, err := Parse([]byte(in), "c.yaml"); err == nil || err.Error() != want {
			t.Errorf("%q: err = %v\nwant %s", in, err, want)
		}
	}
}

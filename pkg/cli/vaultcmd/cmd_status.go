package vaultcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// StatusCmd shows the vault and its agent.
type StatusCmd struct {
	JSON bool `name:"json" help:"Print one JSON object: vault, exists, secrets, agent (null when none runs)."`
}

// Run prints the status.
func (c *StatusCmd) Run(env *clikit.Env) error {
	v, st, err := open(env)
	if err != nil {
		return err
	}
	out := struct {
		Vault   string        `json:"vault"`
		Exists  bool          `json:"exists"`
		Secrets int           `json:"secrets"`
		Agent   *vault.Status `json:"agent"`
	}{Vault: v.Dir, Exists: v.Exists()}
	if out.Exists {
		entries, err := v.List(env.Ctx, vault.Filter{})
		if err != nil {
			return vaultErr(err)
		}
		out.Secrets = len(entries)
	}
	a := dialAgent(st)
	defer a.Close()
	var s vault.Status
	switch err := a.call(env.Ctx, vault.MethodStatus, nil, &s); {
	case err == nil:
		out.Agent = &s
	case !errors.Is(err, errNoAgent):
		env.Warnf("the vault agent does not answer: %v", err)
	}
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	state := "none (ce-vault init creates it)"
	if out.Exists {
		state = fmt.Sprintf("%d secrets", out.Secrets)
	}
	fmt.Fprintf(tw, "vault\t%s\t%s\n", v.Dir, state)
	switch {
	case out.Agent == nil:
		fmt.Fprintf(tw, "agent\tnot running\t(ce-vault serve)\n")
	case !s.Unlocked:
		fmt.Fprintf(tw, "agent\tlocked\tpid %d (ce-vault unlock)\n", s.PID)
	case s.LocksAt != nil:
		fmt.Fprintf(tw, "agent\tunlocked\tpid %d, locks at %s unless used\n", s.PID, s.LocksAt.Local().Format(time.TimeOnly))
	default:
		fmt.Fprintf(tw, "agent\tunlocked\tpid %d, no idle timeout\n", s.PID)
	}
	return tw.Flush()
}

package vaultcmd

import (
	"errors"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// UnlockCmd unlocks the agent.
type UnlockCmd struct {
	Passphrase
}

// Help is the long help of unlock.
func (c *UnlockCmd) Help() string {
	return "Asks for the passphrase (or reads the file named by CE_VAULT_PASSPHRASE_FILE) and hands it to the running " +
		"agent, which unlocks the vault with it. A wrong passphrase leaves the agent locked."
}

// Run unlocks the agent.
func (c *UnlockCmd) Run(env *clikit.Env) error {
	st, err := env.State()
	if err != nil {
		return err
	}
	a := dialAgent(st)
	defer a.Close()
	var now vault.Status
	if err := a.call(env.Ctx, vault.MethodStatus, nil, &now); errors.Is(err, errNoAgent) {
		return clikit.Fail("start it with ce-vault serve (or ce up)", "no agent runs")
	} else if err != nil {
		return clikit.Fail("ce-vault status shows the agent", "the vault agent: %v", err)
	}
	pass, err := c.read(env, "passphrase of the vault: ", false)
	if errors.Is(err, errNoPassphrase) {
		return clikit.Fail("run ce-vault unlock on a terminal, or set CE_VAULT_PASSPHRASE_FILE", "no passphrase: stdin is not a terminal and no passphrase file is set")
	}
	if err != nil {
		return err
	}
	err = a.call(env.Ctx, vault.MethodUnlock, vault.UnlockRequest{Passphrase: pass}, &now)
	switch {
	case err != nil && err.Error() == vault.ErrWrongPassphrase.Error():
		return clikit.Fail("", "wrong passphrase; the agent stays locked")
	case err != nil:
		return clikit.Fail("ce-vault status shows the agent", "the vault agent: %v", err)
	}
	env.Infof("unlocked the agent")
	return nil
}

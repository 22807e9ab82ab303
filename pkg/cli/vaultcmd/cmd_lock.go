package vaultcmd

import (
	"errors"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// LockCmd locks the agent.
type LockCmd struct{}

// Help is the long help of lock.
func (c *LockCmd) Help() string {
	return "Makes the running agent drop the identity at once; it keeps running, locked, until ce-vault unlock. " +
		"Without an agent there is nothing to lock, which is not an error."
}

// Run locks the agent.
func (c *LockCmd) Run(env *clikit.Env) error {
	st, err := env.State()
	if err != nil {
		return err
	}
	a := dialAgent(st)
	defer a.Close()
	var rep vault.LockReply
	err = a.call(env.Ctx, vault.MethodLock, nil, &rep)
	switch {
	case errors.Is(err, errNoAgent):
		env.Infof("no agent runs: the vault is locked")
		return nil
	case err != nil:
		return clikit.Fail("ce-vault status shows the agent", "the vault agent: %v", err)
	case rep.WasUnlocked:
		env.Infof("locked the agent")
	default:
		env.Infof("the agent was already locked")
	}
	return nil
}

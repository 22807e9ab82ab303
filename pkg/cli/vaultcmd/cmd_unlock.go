package vaultcmd

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ce-platform/ce/pkg/binpath"
	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/statedir"
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
	if err := verifyAgent(env.Ctx, st, a); err != nil {
		return clikit.Fail("ce-bridge call bridge.providers shows who provides the vault's methods; ce status what runs", "%v", err)
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

// verifyAgent checks, before a passphrase is sent, that the broker is ce's
// own ce-bridge and that what provides vault.unlock is this very ce-vault
// program: a process that squats the socket or the method gets nothing.
func verifyAgent(ctx context.Context, st *statedir.Dir, a agent) error {
	want, err := programBeside("ce-bridge")
	if err != nil {
		return err
	}
	pid, exe, err := bridge.BrokerProgram(bridge.Socket(st))
	if err != nil {
		return fmt.Errorf("cannot check the broker: %w", err)
	}
	if exe != want {
		return fmt.Errorf("the broker (pid %d) runs %s, not %s: the passphrase was not sent", pid, exe, want)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if self, err = bridge.Resolve(self); err != nil {
		return err
	}
	var res struct {
		Providers []bridge.ProviderInfo `json:"providers"`
	}
	if err := a.c.Call(ctx, "bridge.providers", nil, &res); err != nil {
		return fmt.Errorf("cannot ask the broker who provides %s: %w", vault.MethodUnlock, err)
	}
	for _, p := range res.Providers {
		if p.Method != vault.MethodUnlock {
			continue
		}
		if exe, err := bridge.ProgramOf(p.PID); err != nil || exe != self {
			return fmt.Errorf("%s is provided by pid %d (%s), not by %s: the passphrase was not sent", vault.MethodUnlock, p.PID, exe, self)
		}
		return nil
	}
	return errNoAgent
}

// programBeside is the ce program name as the broker would find it, with
// symlinks resolved.
func programBeside(name string) (string, error) {
	p, err := binpath.Find(name)
	if err != nil {
		return "", err
	}
	return bridge.Resolve(p)
}

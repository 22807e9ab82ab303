package vaultcmd

import (
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// InitCmd creates the vault.
type InitCmd struct {
	Passphrase
}

// Help is the long help of init.
func (c *InitCmd) Help() string {
	return "Creates vault/ in the state directory (0700) with a new age X25519 identity, encrypted with the passphrase " +
		"(scrypt), and its public recipient, and prints the recipient. The passphrase is asked twice on the terminal, " +
		"without echo, or read from the first line of the file named by CE_VAULT_PASSPHRASE_FILE (--passphrase-file). " +
		"An existing vault is never overwritten. Without the passphrase the secrets cannot be read: nobody can recover it."
}

// Run creates the vault and prints its recipient.
func (c *InitCmd) Run(env *clikit.Env) error {
	v, _, err := open(env)
	if err != nil {
		return err
	}
	if v.Exists() {
		return vaultErr(fmt.Errorf("%w in %s", vault.ErrExists, v.Dir))
	}
	pass, err := c.read(env, "passphrase for the new vault: ", true)
	if errors.Is(err, errNoPassphrase) {
		return clikit.Fail("run ce-vault init on a terminal, or set CE_VAULT_PASSPHRASE_FILE to a file holding the passphrase",
			"no passphrase: stdin is not a terminal and no passphrase file is set")
	}
	if err != nil {
		return err
	}
	rcpt, err := v.Init(env.Ctx, pass)
	if err != nil {
		return vaultErr(err)
	}
	fmt.Fprintln(env.Stdout, rcpt)
	if clikit.IsTerminal(env.Stderr) {
		env.Infof("created the vault in %s; ce-vault set KEY stores a secret", v.Dir)
	}
	return nil
}

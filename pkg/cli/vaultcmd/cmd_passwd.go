package vaultcmd

import (
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// PasswdCmd changes the passphrase.
type PasswdCmd struct {
	Passphrase
	NewFile string `name:"new-passphrase-file" env:"CE_VAULT_NEW_PASSPHRASE_FILE" placeholder:"FILE" help:"Read the new passphrase from the first line of FILE instead of asking on the terminal."`
}

// Help is the long help of passwd.
func (c *PasswdCmd) Help() string {
	return "Asks for the current passphrase (or reads CE_VAULT_PASSPHRASE_FILE) and the new one, twice (or reads " +
		"CE_VAULT_NEW_PASSPHRASE_FILE), and encrypts the identity again under the new one. The secrets are untouched: " +
		"they are encrypted to the identity, not to the passphrase. A running agent stays unlocked. With a wrong " +
		"current passphrase nothing changes."
}

// Run changes the passphrase.
func (c *PasswdCmd) Run(env *clikit.Env) error {
	v, _, err := open(env)
	if err != nil {
		return err
	}
	if !v.Exists() {
		return vaultErr(fmt.Errorf("no vault in %s", v.Dir))
	}
	noTerminal := func(what string) error {
		return clikit.Fail("run ce-vault passwd on a terminal, or set CE_VAULT_PASSPHRASE_FILE and CE_VAULT_NEW_PASSPHRASE_FILE",
			"no %s passphrase: stdin is not a terminal and no passphrase file is set", what)
	}
	old, err := c.read(env, "current passphrase: ", false)
	if errors.Is(err, errNoPassphrase) {
		return noTerminal("current")
	}
	if err != nil {
		return err
	}
	// Check the old one first, so that nobody types a new one twice for
	// nothing.
	if _, err := v.Unlock(old); err != nil {
		return vaultErr(err)
	}
	var next string
	if c.NewFile != "" {
		next, err = readPassphraseFile(c.NewFile, "CE_VAULT_NEW_PASSPHRASE_FILE")
	} else {
		next, err = Passphrase{}.read(env, "new passphrase: ", true)
		if errors.Is(err, errNoPassphrase) {
			return noTerminal("new")
		}
	}
	if err != nil {
		return err
	}
	if err := v.Passwd(env.Ctx, old, next); err != nil {
		return vaultErr(err)
	}
	if clikit.IsTerminal(env.Stderr) {
		env.Infof("the passphrase was changed")
	}
	return nil
}

package vaultcmd

import (
	"bytes"

	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// GetCmd prints a secret.
type GetCmd struct {
	Passphrase
	Key string `arg:"" help:"The secret's key."`
}

// Help is the long help of get.
func (c *GetCmd) Help() string {
	return "Prints the value exactly as stored (a newline is added only when stdout is a terminal). The identity comes " +
		"from the running agent (ce-vault serve) when it is unlocked; otherwise the passphrase is asked on the terminal " +
		"or read from the file named by CE_VAULT_PASSPHRASE_FILE. A wrong passphrase is one line of error and exit " +
		"status 1; nothing is changed."
}

// Run prints the value.
func (c *GetCmd) Run(env *clikit.Env) error {
	if err := keyErr(c.Key); err != nil {
		return err
	}
	v, st, err := open(env)
	if err != nil {
		return err
	}
	values, err := secrets(env, v, st, c.Passphrase, []string{c.Key}, "get", "")
	if err != nil {
		return err
	}
	value := values[c.Key]
	if _, err := env.Stdout.Write(value); err != nil {
		return err
	}
	if clikit.IsTerminal(env.Stdout) && !bytes.HasSuffix(value, []byte("\n")) {
		env.Stdout.Write([]byte("\n"))
	}
	return nil
}

package vaultcmd

import (
	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// RmCmd removes a secret.
type RmCmd struct {
	Key string `arg:"" help:"The secret's key."`
}

// Run removes the secret.
func (c *RmCmd) Run(env *clikit.Env) error {
	if err := keyErr(c.Key); err != nil {
		return err
	}
	v, _, err := open(env)
	if err != nil {
		return err
	}
	if err := v.Remove(env.Ctx, c.Key); err != nil {
		return vaultErr(err)
	}
	if clikit.IsTerminal(env.Stderr) {
		env.Infof("removed %s", c.Key)
	}
	return nil
}

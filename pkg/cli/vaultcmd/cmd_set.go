package vaultcmd

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// SetCmd stores a secret.
type SetCmd struct {
	Key  string   `arg:"" help:"The secret's key, category/service/name, such as api/github/token."`
	Tags []string `name:"tag" short:"t" placeholder:"TAG" help:"Tag the secret (repeatable); replaces the tags of a secret being replaced, which keeps its own otherwise."`
	Raw  bool     `help:"Store stdin exactly as it is; by default one trailing newline is dropped."`
}

// Help is the long help of set.
func (c *SetCmd) Help() string {
	return "Reads the value from stdin, never from an argument (arguments are visible to other processes and kept " +
		"in shell history). On a terminal it asks for one line without echo; otherwise it reads stdin to its end, " +
		"dropping one trailing newline unless --raw is given. Values may be binary, up to 1 MiB. The value is " +
		"encrypted to the vault's recipient, so no passphrase is needed. An existing secret of the same key is replaced."
}

// Run stores the secret.
func (c *SetCmd) Run(env *clikit.Env) error {
	if err := keyErr(c.Key); err != nil {
		return err
	}
	for _, t := range c.Tags {
		if err := vault.ValidTag(t); err != nil {
			return clikit.Usage("", "%v", err)
		}
	}
	v, _, err := open(env)
	if err != nil {
		return err
	}
	if !v.Exists() {
		return vaultErr(fmt.Errorf("%w in %s", vault.ErrNoVault, v.Dir))
	}
	value, err := c.value(env)
	if err != nil {
		return err
	}
	var tags []string
	if len(c.Tags) > 0 {
		tags = c.Tags
	}
	_, replaced, err := v.Set(env.Ctx, c.Key, value, vault.SetOptions{Tags: tags, Source: "cli"})
	if err != nil {
		return vaultErr(err)
	}
	if clikit.IsTerminal(env.Stderr) {
		verb := "stored"
		if replaced {
			verb = "replaced"
		}
		env.Infof("%s %s (%d bytes)", verb, c.Key, len(value))
	}
	return nil
}

func (c *SetCmd) value(env *clikit.Env) ([]byte, error) {
	if in, ok := env.Stdin.(*os.File); ok && clikit.IsTerminal(in) {
		fmt.Fprintf(env.Stderr, "value of %s (input hidden): ", c.Key)
		line, err := readHidden(env.Ctx, in, env.Stderr)
		if err != nil {
			return nil, err
		}
		if line == "" {
			return nil, clikit.Fail("", "the value is empty; nothing was stored")
		}
		return []byte(line), nil
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, vault.MaxValue+2))
	if err != nil {
		return nil, fmt.Errorf("read the value from stdin: %w", err)
	}
	if !c.Raw {
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
	}
	switch {
	case len(b) > vault.MaxValue:
		return nil, clikit.Fail("store a file that large elsewhere and keep its key here", "the value is more than 1 MiB; at most %d bytes can be stored", vault.MaxValue)
	case len(b) == 0:
		return nil, clikit.Fail("pipe the value into ce-vault set, e.g. ce-vault set KEY < file", "the value is empty (stdin gave nothing); nothing was stored")
	}
	return b, nil
}

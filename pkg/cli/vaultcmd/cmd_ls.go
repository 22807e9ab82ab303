package vaultcmd

import (
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/vault"
)

// LsCmd lists secrets.
type LsCmd struct {
	Prefix string `arg:"" optional:"" help:"Only keys starting with this, such as api/ or api/github/."`
	Tag    string `placeholder:"TAG" help:"Only secrets with this tag."`
	JSON   bool   `name:"json" help:"Print one JSON object per secret: key, tags, created, updated, source."`
}

// Help is the long help of ls.
func (c *LsCmd) Help() string {
	return "Lists what is known without the passphrase: keys, tags, when each secret was created and last " +
		"replaced, and who stored it (cli, or session:NAME). Values are never shown."
}

// Run prints the secrets.
func (c *LsCmd) Run(env *clikit.Env) error {
	v, _, err := open(env)
	if err != nil {
		return err
	}
	entries, err := v.List(env.Ctx, vault.Filter{Tag: c.Tag, Prefix: c.Prefix})
	if err != nil {
		return vaultErr(err)
	}
	return clikit.Listing[vault.Entry]{JSON: c.JSON, Empty: "no secrets", Header: []string{"KEY", "TAGS", "UPDATED", "SOURCE"},
		Row: func(e vault.Entry) []string {
			tags := strings.Join(e.Tags, ",")
			if tags == "" {
				tags = "-"
			}
			return []string{e.Key, tags, e.Updated.Local().Format("2006-01-02 15:04"), e.Source}
		}}.Print(env, entries)
}

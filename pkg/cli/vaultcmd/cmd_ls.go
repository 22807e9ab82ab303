package vaultcmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

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
	if c.JSON {
		enc := json.NewEncoder(env.Stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		env.Infof("no secrets")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTAGS\tUPDATED\tSOURCE")
	for _, e := range entries {
		tags := strings.Join(e.Tags, ",")
		if tags == "" {
			tags = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Key, tags, e.Updated.Local().Format("2006-01-02 15:04"), e.Source)
	}
	return tw.Flush()
}

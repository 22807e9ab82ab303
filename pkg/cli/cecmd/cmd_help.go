package cecmd

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/ce-platform/ce/pkg/binpath"

	"github.com/alecthomas/kong"
	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// HelpCmd lists ce's own subcommands and the ce-X commands found.
type HelpCmd struct{}

// Run prints the usage and every ce-X command beside ce and on PATH
// (ce X runs it), and the ce-ext-NAME extensions.
func (c *HelpCmd) Run(env *clikit.Env, k *kong.Context) error {
	k.PrintUsage(false)
	cmds, exts := found()
	fmt.Fprintln(env.Stdout, "\nCommands found (ce X ARGS runs ce-X ARGS):")
	for _, n := range cmds {
		fmt.Fprintf(env.Stdout, "  %-12s man %s\n", strings.TrimPrefix(n, "ce-"), n)
	}
	if len(exts) > 0 {
		fmt.Fprintln(env.Stdout, "\nExtensions found (enable them by NAME in the config):")
		for _, n := range exts {
			fmt.Fprintf(env.Stdout, "  %s\n", strings.TrimPrefix(n, "ce-ext-"))
		}
	}
	return nil
}

// found lists the ce-X commands and ce-ext-X extensions beside the running
// program and on PATH.
func found() (cmds, exts []string) {
	dirs := binpath.Dirs()
	seen := map[string]bool{}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if !strings.HasPrefix(n, "ce-") || seen[n] {
				continue
			}
			info, err := e.Info()
			if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
				continue
			}
			seen[n] = true
			if strings.HasPrefix(n, "ce-ext-") {
				exts = append(exts, n)
			} else {
				cmds = append(cmds, n)
			}
		}
	}
	sort.Strings(cmds)
	sort.Strings(exts)
	return cmds, exts
}

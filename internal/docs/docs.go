// Package docs generates the documentation of every ce command (man pages
// and shell completions) from the commands' kong models, for gendocs and
// for the test that keeps the committed files fresh.
package docs

import (
	"io"

	"github.com/ce-platform/ce/pkg/cli/bridgecmd"
	"github.com/ce-platform/ce/pkg/cli/cecmd"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cli/croncmd"
	"github.com/ce-platform/ce/pkg/cli/heartbeatcmd"
	"github.com/ce-platform/ce/pkg/cli/mcpcmd"
	"github.com/ce-platform/ce/pkg/cli/memorycmd"
	"github.com/ce-platform/ce/pkg/cli/queuecmd"
	"github.com/ce-platform/ce/pkg/cli/sessioncmd"
	"github.com/ce-platform/ce/pkg/cli/vaultcmd"
	"github.com/ce-platform/ce/pkg/clidoc"
)

// Date is the date printed in every man page; bump it with a release.
const Date = "2026-11-24"

// Apps lists the documented commands.
func Apps() []clikit.App {
	return []clikit.App{cecmd.App(), sessioncmd.App(), queuecmd.App(), mcpcmd.App(), bridgecmd.App(), vaultcmd.App(), memorycmd.App(), croncmd.App(), heartbeatcmd.App()}
}

var exitStatus = clidoc.Section{
	Title: "Exit status",
	Items: []clidoc.Item{
		{Term: "0", Text: "Success."},
		{Term: "1", Text: "Failure: the error on stderr says what went wrong and a hint line what to do."},
		{Term: "2", Text: "Bad usage or a bad configuration file."},
		{Term: "128+N", Text: "Ended by signal N: 130 for Ctrl-C (SIGINT), 143 for SIGTERM. What was queued or running goes on."},
	},
}

var files = clidoc.Section{
	Title: "Files",
	Items: []clidoc.Item{
		{Term: "$XDG_CONFIG_HOME/ce/config.yaml", Text: "The configuration; every key is documented in config.example.yaml."},
		{Term: "$XDG_STATE_HOME/ce", Text: "The state directory (mode 0700): sessions.db, queue.db, runs/, events.jsonl, logs/, tmux.sock."},
	},
}

// Generate returns every generated file keyed by its path in the
// repository whose root is root (ce-config(5) is made from a file there).
func Generate(root string) (map[string][]byte, error) {
	out, err := pages(root)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, a := range Apps() {
		names = append(names, a.Name)
	}
	for _, a := range Apps() {
		k, err := a.Parser(io.Discard, io.Discard)
		if err != nil {
			return nil, err
		}
		var see []string
		for _, n := range names {
			if n != a.Name {
				see = append(see, n+"(1)")
			}
		}
		fs, err := clidoc.Files(k, clidoc.ManOptions{
			Section: 1, Date: Date, Source: "ce", Manual: "ce manual",
			SeeAlso: append(see, "ce(7)", "ce-config(5)", "tmux(1)", "claude(1)"),
			Extra:   []clidoc.Section{exitStatus, files},
		})
		if err != nil {
			return nil, err
		}
		for p, b := range fs {
			out[p] = b
		}
	}
	return out, nil
}

// Write writes the files under root.
func Write(root string, files map[string][]byte) error {
	return clidoc.WriteFiles(root, files)
}

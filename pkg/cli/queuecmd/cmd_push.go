package queuecmd

import (
	"fmt"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
)

// PushCmd queues a prompt.
type PushCmd struct {
	Session string   `arg:"" help:"Session name."`
	Prompt  []string `arg:"" optional:"" help:"The prompt; read from stdin when omitted or \"-\"."`
}

// Run queues the prompt and prints its ID.
func (c *PushCmd) Run(env *clikit.Env) error {
	prompt := strings.Join(c.Prompt, " ")
	if len(c.Prompt) == 0 || (len(c.Prompt) == 1 && c.Prompt[0] == "-") {
		var err error
		if prompt, err = queue.ReadPrompt(env.Stdin); err != nil {
			return err
		}
	} else if err := queue.CheckPrompt(prompt); err != nil {
		return err
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	if err := d.CheckSender(env.Ctx, c.Session); err != nil {
		return err
	}
	it, err := d.Enqueue(env.Ctx, platform.Prompt{Session: c.Session, Text: prompt, Source: "cli"})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, it.ID)
	return nil
}

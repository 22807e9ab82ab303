package queuecmd

import (
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/queue"
)

// CancelCmd cancels an item.
type CancelCmd struct {
	ID string `arg:"" help:"Queue item ID (q12)."`
}

// Run cancels the item.
func (c *CancelCmd) Run(env *clikit.Env) error {
	id, err := queue.ParseID(c.ID)
	if err != nil {
		return clikit.Usage("ce-queue ls lists the items", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	it, err := d.Cancel(env.Ctx, id)
	if errors.Is(err, queue.ErrNotFound) {
		return clikit.Fail("ce-queue ls lists the items", "no queue item %s", id)
	}
	if err != nil {
		return clikit.Fail("", "%v", err)
	}
	fmt.Fprintf(env.Stdout, "cancelled %s\n", it.ID)
	return nil
}

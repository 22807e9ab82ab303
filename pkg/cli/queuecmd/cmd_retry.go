package queuecmd

import (
	"errors"
	"fmt"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/queue"
)

// RetryCmd retries an item.
type RetryCmd struct {
	ID string `arg:"" help:"Queue item ID (q12) of a failed or cancelled item."`
}

// Run queues a copy of the item and prints the new ID.
func (c *RetryCmd) Run(env *clikit.Env) error {
	id, err := queue.ParseID(c.ID)
	if err != nil {
		return clikit.Usage("ce-queue ls lists the items", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	it, err := d.Retry(env.Ctx, id)
	if errors.Is(err, queue.ErrNotFound) {
		return clikit.Fail("ce-queue ls lists the items", "no queue item %s", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, it.ID)
	return nil
}

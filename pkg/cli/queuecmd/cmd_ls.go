package queuecmd

import (
	"fmt"
	"strconv"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/text"
)

// LsCmd lists items.
type LsCmd struct {
	Session string `help:"Only items of this session."`
	State   string `help:"Only items in this state: ${enum}." enum:",queued,running,done,failed,cancelled,parked" default:""`
	JSON    bool   `name:"json" help:"Print one JSON object per item."`
}

// Run prints the items.
func (c *LsCmd) Run(env *clikit.Env, d *dispatch.Driver) error {
	items, err := d.Queue.List(env.Ctx, queue.Filter{Session: c.Session, State: c.State})
	if err != nil {
		return err
	}
	return clikit.Listing[queue.Item]{JSON: c.JSON, Empty: "the queue is empty",
		Header: []string{"ID", "SESSION", "STATE", "TRIES", "CREATED", "NOTE", "PROMPT"}, Row: itemRow}.Print(env, items)
}

// itemRow is an item in the table.
func itemRow(it queue.Item) []string {
	note := ""
	switch {
	case it.State == queue.Parked:
		note = "resumes " + it.ParkedUntil.Local().Format("01-02 15:04")
	case it.State == queue.Done:
		note = fmt.Sprintf("$%.4f %.1fs", it.CostUSD, float64(it.DurationMS)/1000)
	case it.Error != "":
		note = text.Line(it.Error, 40)
	}
	return []string{it.ID, it.Session, it.State, strconv.Itoa(it.Attempts),
		it.Created.Local().Format("01-02 15:04:05"), note, text.Line(it.Prompt, 50)}
}

package bridgecmd

import (
	"encoding/json"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// SubCmd prints events.
type SubCmd struct {
	Client
	Patterns []string `arg:"" help:"Topic patterns, such as session.* or queue.changed: '*' matches within a dotted segment, a last '*' segment matches the rest of the topic."`
	Count    int      `help:"Exit after this many events (default: run until interrupted)."`
}

// Help is the long help of sub.
func (c *SubCmd) Help() string {
	return "Prints one {\"topic\":..,\"data\":..} line per event on stdout. If the broker restarts, sub " +
		"reconnects and warns on stderr that events of the gap were missed."
}

// Run prints one {"topic":..,"data":..} line per event.
func (c *SubCmd) Run(env *clikit.Env) error {
	for _, p := range c.Patterns {
		if err := bridge.CheckPattern(p); err != nil {
			return clikit.Usage("see ce-bridge sub --help for the pattern syntax", "%v", err)
		}
	}
	if c.Count < 0 {
		return clikit.Usage("", "--count must not be negative")
	}
	path, err := c.path(env)
	if err != nil {
		return err
	}
	cl := bridge.Dial(path)
	defer cl.Close()
	if !cl.Available() {
		return noBroker(path)
	}
	events, err := cl.Subscribe(env.Ctx, c.Patterns...)
	if err != nil {
		return clientErr(path, err)
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetEscapeHTML(false)
	n := 0
	for ev := range events {
		if ev.Topic == bridge.TopicResubscribed {
			env.Warnf("the connection to the broker was lost and is back; events published meanwhile were missed")
			continue
		}
		if ev.Data == nil {
			ev.Data = json.RawMessage("null")
		}
		if err := enc.Encode(ev); err != nil {
			return err
		}
		if n++; c.Count > 0 && n == c.Count {
			return nil
		}
	}
	return nil
}

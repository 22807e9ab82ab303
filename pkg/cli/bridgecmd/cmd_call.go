package bridgecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
)

// CallCmd calls a method.
type CallCmd struct {
	Client
	Method  string        `arg:"" help:"The method, such as bridge.health or vault.get."`
	Params  string        `arg:"" optional:"" help:"The params as JSON; \"-\" reads them from stdin."`
	Timeout time.Duration `default:"30s" help:"How long to wait for the answer."`
}

// Help is the long help of call.
func (c *CallCmd) Help() string {
	return "Prints the result as one line of JSON on stdout. An error answer (no provider, a timeout, " +
		"the provider's own error) is printed on stderr and the exit status is 1. " +
		"The broker's own methods: bridge.health, bridge.providers, bridge.publish {\"topic\":..,\"data\":..}."
}

// Run prints the result as one line of JSON.
func (c *CallCmd) Run(env *clikit.Env) error {
	var params json.RawMessage
	text := c.Params
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, bridge.MaxFrame+1))
		if err != nil {
			return err
		}
		text = string(b)
	}
	if strings.TrimSpace(text) != "" {
		if !json.Valid([]byte(text)) {
			return clikit.Usage(`pass the params as one JSON value, e.g. '{"key":"name"}'`, "the params are not valid JSON")
		}
		params = json.RawMessage(text)
	}
	if c.Timeout <= 0 {
		return clikit.Usage("", "--timeout must be positive")
	}
	path, err := c.path(env)
	if err != nil {
		return err
	}
	cl := bridge.Dial(path)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(env.Ctx, c.Timeout)
	defer cancel()
	var result json.RawMessage
	err = cl.Call(ctx, c.Method, params, &result)
	var re *bridge.RPCError
	switch {
	case err == nil:
	case errors.As(err, &re) && re.Code == bridge.CodeTimeout,
		errors.Is(err, context.DeadlineExceeded) && env.Ctx.Err() == nil:
		return clikit.Fail("raise --timeout, or see the provider's log", "%s: no answer within %s", c.Method, c.Timeout)
	default:
		return clientErr(path, err)
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", result)
	return err
}

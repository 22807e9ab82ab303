// Package tools gives the ask extension's tool (package ext/ask) its
// handler, which keeps the question in the pending store (package pending,
// <state>/pending.db) so the wait survives the restart of every daemon and
// needs no broker. Only ce-mcp imports it, through ext/builtin/handlers.
package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/ask"
	"github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	"github.com/ce-platform/ce/pkg/pending"
)

func init() { ext.RegisterHandlers(ask.Name, Fill) }

// Fill sets the handler of the ask extension's tool.
func Fill(e *ext.Extension) {
	if t, ok := e.Tool(ask.ToolAskUser); ok {
		t.Handler = askUser
	}
}

func askUser(ctx context.Context, c ext.Call) ext.Result {
	if c.Env.State == nil {
		return ext.Errorf("ask_user has no state directory (CE_STATE_DIR is not set)")
	}
	question, err := c.RequireString("question")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	choices, err := ext.StringList(c.Args["choices"], "choices")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	timeout, err := ask.Timeout(c, ask.DefaultTimeout, ask.MaxTimeout)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	ps := pending.Open(c.Env.State)
	req, err := ps.Create(ctx, pending.Request{
		Kind:     pending.KindAskUser,
		Session:  c.Env.Session,
		Question: strings.TrimSpace(question),
		Choices:  choices,
		Expires:  time.Now().Add(timeout),
	})
	if err != nil {
		return ext.Errorf("the question was not asked: %v", err)
	}
	asknotify.Announce(ctx, c.Env, req)
	got, err := asknotify.Wait(ctx, c.Env, ps, req.ID)
	if err != nil {
		if ctx.Err() != nil {
			asknotify.Withdraw(c.Env, ps, req.ID, "the ask_user call ended before an answer came")
			return ext.Errorf("stopped waiting for the answer to question %s: the call was cancelled", req.ID)
		}
		return ext.Errorf("waiting for the answer to question %s failed: %v", req.ID, err)
	}
	switch got.State {
	case pending.StateAnswered:
		return ext.Result{Text: "The user answered: " + got.Answer}
	case pending.StateExpired:
		asknotify.Closed(ctx, c.Env, got)
		return ext.Result{Text: fmt.Sprintf("no answer within %s (question %s expired). Carry on with the safest reasonable choice and say what you assumed, or ask again later.", timeout, req.ID)}
	default:
		return ext.Result{Text: fmt.Sprintf("question %s was withdrawn before an answer came (%s)", req.ID, got.AnsweredBy)}
	}
}

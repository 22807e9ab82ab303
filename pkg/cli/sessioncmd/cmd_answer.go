package sessioncmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	ask "github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	"github.com/ce-platform/ce/pkg/origin"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/platform"
)

// AnswerCmd answers a question.
type AnswerCmd struct {
	ID   string   `arg:"" help:"The question's ID, as ce-session pending lists it (a12)."`
	Text []string `arg:"" help:"The answer, or the number of one of the question's choices."`
}

// Run resolves the question; its asker, waiting in a tool call, gets the
// answer at once.
func (c *AnswerCmd) Run(env *clikit.Env) error {
	id, err := pending.ParseID(c.ID)
	if err != nil {
		return clikit.Usage("ce-session pending lists the open questions", "%v", err)
	}
	ps, e, err := openPending(env)
	if err != nil {
		return err
	}
	o := origin.Self(env.Ctx, e.State.TmuxSocket())
	if !o.Person() {
		return clikit.Fail("a session asks the person with ask_user and another session with session_ask; it does not answer for them",
			"refused: answers to the person's questions come from the person, and %s", o.Why())
	}
	// A yes that lets a secret or a tool out is typed by the person: a
	// process that left its session (setsid) has no terminal.
	if r, err := ps.Get(env.Ctx, id); err == nil && (r.Kind == pending.KindVault || r.Kind == pending.KindPermission) && o.TTY == "" {
		return clikit.Fail("answer it from your terminal, or from Telegram",
			"refused: %s is a %s question, answered only by a person at a terminal, and this process has none", id, r.Kind)
	}
	text := strings.Join(c.Text, " ")
	r, err := ps.Resolve(env.Ctx, id, text, "user:"+platform.DefaultUser())
	var closed *pending.ClosedError
	var choice *pending.ChoiceError
	switch {
	case errors.Is(err, pending.ErrNotFound):
		return clikit.Fail("ce-session pending lists the open questions", "no question %s", id)
	case errors.As(err, &closed):
		return clikit.Fail("ce-session pending lists the open questions", "%v", err)
	case errors.As(err, &choice):
		return clikit.Usage("ce-session pending lists the question with its choices", "%v", err)
	case err != nil && strings.TrimSpace(text) == "":
		return clikit.Usage("give the answer as arguments", "%v", err)
	case err != nil:
		return err
	}
	ask.Answered(env.Ctx, e, r)
	how := ""
	if len(r.Choices) > 0 && strings.TrimSpace(text) != r.Answer {
		for i, ch := range r.Choices {
			if ch == r.Answer {
				how = fmt.Sprintf(" with choice %d", i+1)
			}
		}
	}
	fmt.Fprintf(env.Stdout, "answered %s (%s from %s)%s: %s\n", r.ID, r.Kind, orDash(r.Session), how, r.Answer)
	return nil
}

package sessioncmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/pending"
)

// PendingCmd lists open questions.
type PendingCmd struct {
	Session string `help:"Only the questions asked by or of this session."`
	All     bool   `help:"Also list answered, expired and withdrawn questions (kept for a day after they expire)."`
	JSON    bool   `name:"json" help:"Print one JSON object per question."`
}

// Run prints the questions, oldest first.
func (c *PendingCmd) Run(env *clikit.Env) error {
	ps, _, err := openPending(env)
	if err != nil {
		return err
	}
	f := pending.Filter{State: pending.StateOpen}
	if c.All {
		f.State = ""
	}
	list, err := ps.List(env.Ctx, f)
	if err != nil {
		return err
	}
	if c.Session != "" {
		kept := list[:0]
		for _, r := range list {
			if r.Session == c.Session || r.Target == c.Session {
				kept = append(kept, r)
			}
		}
		list = kept
	}
	l := clikit.Listing[pending.Request]{JSON: c.JSON, Empty: "no open questions",
		Header: []string{"ID", "SESSION", "KIND", "TO", "AGE", "EXPIRES", "QUESTION"},
		Row: func(r pending.Request) []string {
			return []string{r.ID, orDash(r.Session), r.Kind, to(r), ago(r.Created), until(r.Expires), summary(r)}
		}}
	if c.All {
		l.Header = []string{"ID", "SESSION", "KIND", "TO", "AGE", "EXPIRES", "STATE", "QUESTION"}
		l.Row = func(r pending.Request) []string {
			return []string{r.ID, orDash(r.Session), r.Kind, to(r), ago(r.Created), until(r.Expires), r.State, summary(r)}
		}
	}
	if err := l.Print(env, list); err != nil || c.JSON || len(list) == 0 {
		return err
	}
	env.Hintf("answer with: ce-session answer ID TEXT (or the number of a choice)")
	return nil
}

// openPending returns the pending store and the environment that answers
// are announced in (event log, broker).
func openPending(env *clikit.Env) (*pending.Store, ext.Env, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, ext.Env{}, err
	}
	st, err := env.State()
	if err != nil {
		return nil, ext.Env{}, err
	}
	ps := pending.Open(st)
	ps.Store().OnCorrupt = func(path, moved string, err error) {
		env.Warnf("%s could not be loaded (%v); it was moved to %s and a new one started", path, err, moved)
	}
	return ps, ext.Env{State: st, Config: cfg, BridgeSocket: bridge.Socket(st)}, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// to names who is asked: the user, or the target session.
func to(r pending.Request) string {
	if r.Target != "" {
		return r.Target
	}
	return "user"
}

func until(t time.Time) string {
	d := time.Until(t)
	switch {
	case d <= 0:
		return "expired"
	case d < time.Minute:
		return fmt.Sprintf("in %ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes()))
	}
	return fmt.Sprintf("in %dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// summary is the question on one line, shortened, with its choices.
func summary(r pending.Request) string {
	q := strings.Join(strings.Fields(r.Question), " ")
	if n := []rune(q); len(n) > 80 {
		q = string(n[:79]) + "…"
	}
	if len(r.Choices) > 0 {
		q += " [" + pending.FormatChoices(r.Choices) + "]"
	}
	return q
}

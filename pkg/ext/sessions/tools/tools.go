// Package tools gives the sessions extension's tools (package
// ext/sessions) their handlers. A question is a pending request of kind
// session_ask in <state>/pending.db, so the wait needs no broker; it
// reaches the target as a prompt in its queue that carries the question's
// ID. A question that would close a circle of sessions waiting on each
// other is refused at once: the asked session could not run it before the
// asker answered. Only ce-mcp imports this package, through
// ext/builtin/handlers.
package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/ext/ask"
	"github.com/ce-platform/ce/pkg/ext/ask/asknotify"
	extsessions "github.com/ce-platform/ce/pkg/ext/sessions"
	"github.com/ce-platform/ce/pkg/pending"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/rs/zerolog"
)

func init() { ext.RegisterHandlers(extsessions.Name, Fill) }

// Fill sets the handlers of the sessions extension's tools.
func Fill(e *ext.Extension) {
	handlers := map[string]func(context.Context, ext.Call) ext.Result{
		extsessions.ToolAsk:   sessionAsk,
		extsessions.ToolReply: sessionReply,
		extsessions.ToolInbox: sessionInbox,
	}
	for i := range e.Tools {
		if h, ok := handlers[e.Tools[i].Name]; ok {
			e.Tools[i].Handler = h
		}
	}
}

// platformOf is the platform of the tools' state directory, which queues
// the question into its target session.
func platformOf(env ext.Env) *platform.Platform {
	cfg := env.Config
	if cfg == nil {
		cfg = config.Default()
	}
	return platform.Open(env.State, cfg, "", zerolog.Nop())
}

// QuestionPrompt is the prompt that carries question req into its target's
// queue.
func QuestionPrompt(req pending.Request) string {
	return fmt.Sprintf(`Question %[1]s from session %[2]q, asked with session_ask. Session %[2]q is blocked until you reply.

<question from=%[2]q ask_id=%[1]q>
%[3]s
</question>

Answer it by calling the session_reply tool (server ce_sessions) with ask_id %[1]q and your answer as "answer". Session %[2]q receives only that reply and sees nothing else of this conversation, so make the reply complete on its own. Do the work the question needs first, then reply once; if you cannot answer, reply saying so and why. Do not ask session %[2]q anything back: it cannot answer before you reply. The question expires at %[4]s (%[5]s after it was asked); a reply after that is refused.`,
		req.ID, req.Session, strings.TrimSpace(req.Question), req.Expires.UTC().Format("2006-01-02 15:04:05 UTC"), req.Timeout())
}

// sessionAsk puts a question into another session's queue and waits for
// its reply, for the timeout at most.
func sessionAsk(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("session_ask")
	if !ok {
		return res
	}
	a, err := parseAsk(ctx, c, me)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	a.ps = pending.Open(c.Env.State)
	a.req, err = a.ps.Create(ctx, pending.Request{
		Kind:     pending.KindSessionAsk,
		Session:  me,
		Target:   a.target,
		Question: a.question,
		Expires:  time.Now().Add(a.timeout),
	})
	var cycle *pending.CycleError
	if errors.As(err, &cycle) {
		return ext.Errorf("refused: %v. Answer the question you were asked first (session_inbox lists it, session_reply answers it), then ask again if you still need to.", err)
	}
	if err != nil {
		return ext.Errorf("the question was not asked: %v", err)
	}
	p := platformOf(c.Env)
	a.q = p.Queue
	it, err := p.Enqueue(ctx, platform.Prompt{Session: a.target, Text: QuestionPrompt(a.req), Source: "session:" + me, Data: map[string]any{"ask": a.req.ID}})
	if err != nil {
		asknotify.Withdraw(c.Env, a.ps, a.req.ID, "the question could not be queued")
		return ext.Errorf("the question could not be queued for session %s: %v", a.target, err)
	}
	a.item = it.ID
	if r, err := a.ps.SetItem(ctx, a.req.ID, it.ID); err == nil {
		a.req = r
	}
	asknotify.Announce(ctx, c.Env, a.req)
	return a.wait(ctx)
}

// asking is one session_ask call: its question and, once asked, where the
// question is.
type asking struct {
	env      ext.Env
	target   string
	question string
	timeout  time.Duration

	ps   *pending.Store
	req  pending.Request
	q    *queue.Queue
	item string // the question's queue item
}

// parseAsk checks the arguments of session me's session_ask call; the
// error is the call's answer.
func parseAsk(ctx context.Context, c ext.Call, me string) (*asking, error) {
	target, err := c.RequireString("target")
	if err != nil {
		return nil, err
	}
	question, err := c.RequireString("question")
	if err != nil {
		return nil, err
	}
	if target == me {
		return nil, fmt.Errorf("you cannot ask yourself: you are session %s. session_ask puts a question into another session's queue; answer it yourself, or ask the user with ask_user", me)
	}
	if err := session.ValidName(target); err != nil {
		return nil, err
	}
	sessions := session.Open(c.Env.State)
	if _, err := sessions.Get(ctx, target); errors.Is(err, session.ErrNotFound) {
		return nil, fmt.Errorf("no session %q; %s", target, others(ctx, sessions, me))
	} else if err != nil {
		return nil, fmt.Errorf("cannot read the sessions: %v", err)
	}
	timeout, err := ask.Timeout(c, extsessions.DefaultTimeout, extsessions.MaxTimeout)
	if err != nil {
		return nil, err
	}
	return &asking{env: c.Env, target: target, question: strings.TrimSpace(question), timeout: timeout}, nil
}

// wait waits for the reply to the asked question and says what came of
// it: the reply, or why there is none.
func (a *asking) wait(ctx context.Context) ext.Result {
	// The wait also ends when the question's queue item ends without a
	// reply (the target finished its turn, failed, or the item was
	// cancelled), rather than running into the timeout.
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go watchItem(wctx, a.env.State, a.q, a.item, stop)
	got, err := asknotify.Wait(wctx, a.env, a.ps, a.req.ID)
	var ended *itemEnded
	switch {
	case err == nil:
		return a.settled(ctx, got)
	case errors.As(context.Cause(wctx), &ended) && ctx.Err() == nil:
		return endedWithoutReply(ctx, a.env, a.ps, a.req, ended)
	case ctx.Err() != nil:
		asknotify.Withdraw(a.env, a.ps, a.req.ID, "the session_ask call ended before the reply came")
		cancelItem(a.q, a.item)
		return ext.Errorf("stopped waiting for session %s's reply to %s: the call was cancelled", a.target, a.req.ID)
	default:
		return ext.Errorf("waiting for session %s's reply to %s failed: %v", a.target, a.req.ID, err)
	}
}

// settled says what came of a question that got closed while the call
// waited: answered, expired (its item is taken out of the queue if not
// yet run) or withdrawn.
func (a *asking) settled(ctx context.Context, got pending.Request) ext.Result {
	switch got.State {
	case pending.StateAnswered:
		return ext.Result{Text: fmt.Sprintf("Session %s replied (%s):\n%s", replier(got, a.target), a.req.ID, got.Answer)}
	case pending.StateExpired:
		asknotify.Closed(ctx, a.env, got)
		where := "it was still in " + a.target + "'s queue and has been removed"
		if !cancelItem(a.q, a.item) {
			where = "session " + a.target + " may still be working on it, but a late reply is refused"
		}
		return ext.Result{Text: fmt.Sprintf("no reply within %s from session %s (question %s expired; %s). Go on without it, or ask again with a longer timeout.", a.timeout, a.target, a.req.ID, where)}
	default:
		return ext.Result{Text: fmt.Sprintf("question %s was withdrawn before session %s replied (%s)", a.req.ID, a.target, got.AnsweredBy)}
	}
}

// replier names who answered: the target, or the user on its behalf.
func replier(r pending.Request, target string) string {
	if r.AnsweredBy == "session:"+target || r.AnsweredBy == "" {
		return target
	}
	return target + " (answered by " + r.AnsweredBy + ")"
}

// endedWithoutReply settles a question whose queue item ended while the
// question was still open.
func endedWithoutReply(ctx context.Context, env ext.Env, ps *pending.Store, req pending.Request, e *itemEnded) ext.Result {
	// A reply is written during the run, before its item ends; read again.
	if r, err := ps.Get(ctx, req.ID); err == nil && r.State == pending.StateAnswered {
		return ext.Result{Text: fmt.Sprintf("Session %s replied (%s):\n%s", replier(r, req.Target), req.ID, r.Answer)}
	}
	it := e.item
	switch {
	case e.gone:
		asknotify.Withdraw(env, ps, req.ID, "its queue item was removed")
		return ext.Errorf("session %s was removed (or its queue emptied) before it replied to %s", req.Target, req.ID)
	case it.State == queue.Done && strings.TrimSpace(it.Result) != "":
		r, err := ps.Resolve(ctx, req.ID, it.Result, "session:"+req.Target+" (final message, no session_reply)")
		var closed *pending.ClosedError
		if errors.As(err, &closed) && closed.Req.State == pending.StateAnswered {
			return ext.Result{Text: fmt.Sprintf("Session %s replied (%s):\n%s", replier(closed.Req, req.Target), req.ID, closed.Req.Answer)}
		}
		if err == nil {
			asknotify.Answered(ctx, env, r)
		}
		return ext.Result{Text: fmt.Sprintf("Session %s finished its turn on question %s without calling session_reply; its final message was:\n%s", req.Target, req.ID, it.Result)}
	case it.State == queue.Done:
		asknotify.Withdraw(env, ps, req.ID, "the target finished its turn without replying")
		return ext.Result{Text: fmt.Sprintf("session %s finished its turn on question %s without replying", req.Target, req.ID)}
	case it.State == queue.Failed:
		asknotify.Withdraw(env, ps, req.ID, "the target's run failed")
		return ext.Errorf("session %s's run of question %s failed before it replied: %s", req.Target, req.ID, it.Error)
	default:
		asknotify.Withdraw(env, ps, req.ID, "its queue item was cancelled")
		return ext.Errorf("question %s was cancelled in session %s's queue (item %s) before it replied", req.ID, req.Target, it.ID)
	}
}

func sessionReply(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("session_reply")
	if !ok {
		return res
	}
	raw, err := c.RequireString("ask_id")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	answer, err := c.RequireString("answer")
	if err != nil {
		return ext.Errorf("%v", err)
	}
	id, err := pending.ParseID(raw)
	if err != nil {
		return ext.Errorf("%q is not an ask ID (they look like a12; session_inbox lists yours)", raw)
	}
	ps := pending.Open(c.Env.State)
	req, err := ps.Get(ctx, id)
	if errors.Is(err, pending.ErrNotFound) {
		return ext.Errorf("there is no question %s (finished questions are forgotten a day after they expire); session_inbox lists the open questions asked of you", id)
	}
	if err != nil {
		return ext.Errorf("cannot read question %s: %v", id, err)
	}
	if req.Kind != pending.KindSessionAsk {
		return ext.Errorf("%s is an %s request to the user, not a question from a session; session_reply answers only questions asked with session_ask", id, req.Kind)
	}
	if req.Target != me {
		return ext.Errorf("question %s was asked of session %s, not of you (%s); only %s can reply to it. session_inbox lists the questions asked of you", id, req.Target, me, req.Target)
	}
	r, err := ps.Resolve(ctx, id, answer, "session:"+me)
	if err != nil {
		return ext.Errorf("your reply was not delivered: %v", err)
	}
	asknotify.Answered(ctx, c.Env, r)
	return ext.Result{Text: fmt.Sprintf("Reply to %s delivered to session %s.", id, r.Session)}
}

// inboxEntry is one question in session_inbox's answer.
type inboxEntry struct {
	AskID    string    `json:"ask_id"`
	From     string    `json:"from"`
	Question string    `json:"question"`
	Asked    time.Time `json:"asked"`
	Expires  time.Time `json:"expires"`
}

func sessionInbox(ctx context.Context, c ext.Call) ext.Result {
	me, res, ok := c.Caller("session_inbox")
	if !ok {
		return res
	}
	list, err := pending.Open(c.Env.State).List(ctx, pending.Filter{Kind: pending.KindSessionAsk, Target: me, State: pending.StateOpen})
	if err != nil {
		return ext.Errorf("cannot read the questions: %v", err)
	}
	if len(list) == 0 {
		return ext.Result{Text: fmt.Sprintf("No open questions for session %s.", me)}
	}
	out := make([]inboxEntry, len(list))
	for i, r := range list {
		out[i] = inboxEntry{AskID: r.ID, From: r.Session, Question: r.Question, Asked: r.Created, Expires: r.Expires}
	}
	return ext.JSON(map[string]any{"session": me, "questions": out})
}

// others describes the sessions one could ask instead.
func others(ctx context.Context, sessions *session.Store, me string) string {
	recs, err := sessions.List(ctx, "")
	if err != nil {
		return "ce-session ls lists the sessions"
	}
	var names []string
	for _, r := range recs {
		if r.Name != me {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return "there are no other sessions to ask"
	}
	sort.Strings(names)
	return "the other sessions are: " + strings.Join(names, ", ")
}

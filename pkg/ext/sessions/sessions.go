// Package sessions is the "sessions" extension (MCP server ce_sessions)
// as the queue worker sees it: its tools' names and schemas, its system
// prompt fragment and the server's timeout. Sessions ask each other
// questions: session_ask puts a question into the target session's queue
// and blocks until the target answers with session_reply; session_inbox
// lists the questions waiting for this session's reply.
//
// The handlers are in package sessions/tools, which only ce-mcp imports
// (see ext.RegisterHandlers).
package sessions

import (
	"time"

	"github.com/ce-platform/ce/pkg/ext"
)

// Name is the extension's name in config.
const Name = "sessions"

// Tool names.
const (
	ToolAsk   = "session_ask"
	ToolReply = "session_reply"
	ToolInbox = "session_inbox"
)

// Timeouts of session_ask. The default is longer than ask_user's: the
// question waits behind the target's queued prompts.
const (
	DefaultTimeout = 30 * time.Minute
	MaxTimeout     = 24 * time.Hour
)

// timeoutMargin is added to MaxTimeout for the MCP server's timeout.
const timeoutMargin = 5 * time.Minute

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_sessions.
const Prompt = `You may be one of several ce sessions, each a separate Claude conversation with its own queue of prompts. With the ce_sessions tools you can ask another session a question and wait for its reply (session_ask), list the questions other sessions are waiting for you to answer (session_inbox), and answer one (session_reply). Ask another session only for what it knows or can do better than you (its files, its task, its results), with a question that stands on its own: it does not see your conversation. When a prompt says it is a question from another session and gives an ask ID, answer it with session_reply and that ID; the asking session is blocked until you do, and it sees only your reply, not your final message. Never ask a session that is waiting for your reply: answer it first (such questions are refused, as neither could go on).`

// New returns the sessions extension, without handlers.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Ask other sessions questions and answer theirs (session_ask, session_reply, session_inbox).",
		Prompt:      Prompt,
		Timeout:     MaxTimeout + timeoutMargin,
		Tools: []ext.Tool{
			{
				Name: ToolAsk,
				Description: "Ask another ce session a question and wait for its reply. The question is queued as a prompt " +
					"in the target session, which answers with session_reply; the call blocks until then or until the timeout " +
					"(default 30 minutes, at most 24 hours; the question waits behind the target's other queued prompts). " +
					"The target does not see your conversation: make the question complete on its own. " +
					"Refused at once for yourself, for a session that does not exist, and for a session that is waiting on you.",
				Schema: ext.Schema(map[string]any{
					"target":   ext.Prop("string", "Name of the session to ask (ce-session ls lists them)."),
					"question": ext.Prop("string", "The question, complete on its own."),
					"timeout":  ext.Prop("number", "Optional: how many seconds to wait for the reply (default 1800, at most 86400)."),
				}, "target", "question"),
			},
			{
				Name: ToolReply,
				Description: "Answer a question another session asked you with session_ask. Pass the ask ID given in the " +
					"question's prompt (or listed by session_inbox). The asking session receives exactly this answer and " +
					"nothing else of your conversation, so make it complete. Reply once per question.",
				Schema: ext.Schema(map[string]any{
					"ask_id": ext.Prop("string", "The question's ID, like \"a12\"."),
					"answer": ext.Prop("string", "Your answer, complete on its own."),
				}, "ask_id", "answer"),
			},
			{
				Name:        ToolInbox,
				Description: "List the questions other sessions asked you that still wait for your session_reply, oldest first.",
				Schema:      ext.Schema(map[string]any{}),
				ReadOnly:    true,
			},
		},
	}
}

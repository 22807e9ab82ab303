// Package ask is the "ask" extension (MCP server ce_ask) as the queue
// worker sees it: the ask_user tool's name and schema, the system prompt
// fragment and the server's timeout. ask_user puts a question to the user
// and blocks the tool call until the user answers, with `ce-session answer
// ID TEXT` or in Telegram, or the timeout passes.
//
// The handler is in package ask/tools, which only ce-mcp imports (see
// ext.RegisterHandlers); what every kind of pending request shares (the
// ask.* events and the wait on them) is in package ask/asknotify.
package ask

import (
	"fmt"
	"time"

	"github.com/ce-platform/ce/pkg/ext"
)

// Name is the extension's name in config.
const Name = "ask"

// ToolAskUser is the name of the extension's tool.
const ToolAskUser = "ask_user"

// Timeouts of ask_user.
const (
	DefaultTimeout = 10 * time.Minute
	MaxTimeout     = 24 * time.Hour
)

// MaxChoices bounds the choices of a question in the schema; it is the
// pending store's limit (pending.MaxChoices), which this package does not
// import.
const MaxChoices = 10

// timeoutMargin is added to MaxTimeout for the MCP server's timeout, so
// claude never cuts off a call that is still waiting legitimately.
const timeoutMargin = 5 * time.Minute

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_ask.
const Prompt = `You can ask the user a question with the ask_user tool (server ce_ask). The call blocks until the user answers (in Telegram, or in a shell with "ce-session answer") or its timeout passes, so the user may be away: use it only when you cannot reasonably go on without them, for example a decision between approaches with real trade-offs, missing access or credentials, an ambiguous request, or before something hard to undo (deleting data, force-pushing, deploying, spending money). Do not ask about what you can find out yourself, and do not ask for routine confirmation. Make the question short and complete on its own (the user may read it on a phone, without your context); when the answer is one of a few options, pass them as choices. If no answer comes in time, carry on with the safest reasonable choice and say what you assumed.`

// New returns the ask extension, without handlers.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Ask the user a question and wait for the answer (ce-session answer, Telegram).",
		Prompt:      Prompt,
		Timeout:     MaxTimeout + timeoutMargin,
		Tools: []ext.Tool{{
			Name: ToolAskUser,
			Description: "Ask the user a question and wait for the answer. The call blocks until the user answers " +
				"(in Telegram, or in a shell with `ce-session answer ID TEXT`) or the timeout passes " +
				"(default 10 minutes, at most 24 hours). With choices the user picks one, by its text or its number, " +
				"but may also answer in their own words. Returns the answer, or a note that no answer came in time.",
			Schema: ext.Schema(map[string]any{
				"question": ext.Prop("string", "The question, short and complete on its own: the user may not see your context."),
				"choices": map[string]any{
					"type":        "array",
					"items":       map[string]any{"type": "string"},
					"maxItems":    MaxChoices,
					"description": "Optional answers to pick from (at most 10), e.g. [\"yes\", \"no\"].",
				},
				"timeout": ext.Prop("number", "Optional: how many seconds to wait for the answer (default 600, at most 86400)."),
			}, "question"),
		}},
	}
}

// Timeout reads the optional "timeout" argument (seconds, or a duration
// string) of a tool that waits for an answer: def when absent, an error
// when not positive or over most.
func Timeout(c ext.Call, def, most time.Duration) (time.Duration, error) {
	d, err := c.Duration("timeout", def)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("argument \"timeout\" must be positive (seconds to wait; default %d)", int(def.Seconds()))
	}
	if d > most {
		return 0, fmt.Errorf("argument \"timeout\" is %s; at most %s (%d seconds) is allowed", d, most, int(most.Seconds()))
	}
	return d, nil
}

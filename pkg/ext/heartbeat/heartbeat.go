// Package heartbeat is the "heartbeat" extension (MCP server ce_heartbeat)
// as the queue worker sees it: its tools' names and schemas, its system
// prompt fragment and the one added for the heartbeat's own session. The
// tools let sessions see and steer ce's heartbeat (package pkg/heartbeat):
// its status, the pause switch, triggers, and the checklist it works
// from. It is not enabled by default; the heartbeat is opt-in.
//
// The handlers are in package heartbeat/tools, which only ce-mcp imports
// (see ext.RegisterHandlers).
package heartbeat

import (
	"context"

	"github.com/ce-platform/ce/pkg/ext"
)

// Name is the extension's name in config.
const Name = "heartbeat"

// Tool names.
const (
	ToolStatus          = "heartbeat_status"
	ToolPause           = "heartbeat_pause"
	ToolResume          = "heartbeat_resume"
	ToolTrigger         = "heartbeat_trigger"
	ToolInstructionsGet = "heartbeat_instructions_get"
	ToolInstructionsSet = "heartbeat_instructions_set"
)

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_heartbeat.
const Prompt = `ce runs a heartbeat: a periodic check that reads a checklist (HEARTBEAT.md) and gate commands, decides with a small model whether anything needs doing, and if so queues a prompt in its own session. With the ce_heartbeat tools you can read its status, pause or resume it, ask for a beat sooner (heartbeat_trigger, e.g. when you started something that needs checking later), and read or change its checklist. Add to the checklist only what should be looked at repeatedly, as short Markdown items; keep it short, since every beat reads it.`

// SessionPrompt is added for the heartbeat's own session.
const SessionPrompt = `This is the heartbeat's own session: prompts here come from the heartbeat, not from a person, and nobody watches live. Do the task you are given, keep changes small and safe, do not start long-running, destructive or costly work unless the task asks for it, and end with a short summary of what you did and of anything a person should look at. When a checklist item was a one-off and is done, remove it with heartbeat_instructions_get and heartbeat_instructions_set.`

// New returns the heartbeat extension, without handlers.
func New() *ext.Extension {
	str := func(desc string) map[string]any { return ext.Prop("string", desc) }
	return &ext.Extension{
		Name:        Name,
		Description: "See and steer the heartbeat: status, pause, resume, trigger, its checklist (ce-heartbeat).",
		Prompt:      Prompt,
		PromptFunc: func(_ context.Context, env ext.Env) string {
			if env.Config != nil && env.Session != "" && env.Session == env.Config.Heartbeat.Session {
				return SessionPrompt
			}
			return ""
		},
		Tools: []ext.Tool{
			{
				Name: ToolStatus,
				Description: "The heartbeat's status as JSON: state (active, paused, auth-paused), the next beat, each safety " +
					"valve (open or closed, and why), today's actions and cost, the checklist file, and the last beat.",
				Schema:   ext.Schema(map[string]any{}),
				ReadOnly: true,
			},
			{
				Name:        ToolPause,
				Description: "Pause the heartbeat: no beat runs until it is resumed, or until the duration passes.",
				Schema: ext.Schema(map[string]any{
					"duration": str("Optional: how long, e.g. \"2h\" (at most 7 days); without it, until resumed."),
					"reason":   str("Optional: why, shown in the status."),
				}),
			},
			{
				Name: ToolResume,
				Description: "Turn the heartbeat's pause switch off. A pause after an authentication or billing error and " +
					"the circuit breaker are cleared only by a person (ce-heartbeat resume).",
				Schema: ext.Schema(map[string]any{}),
			},
			{
				Name: ToolTrigger,
				Description: "Ask for a heartbeat beat sooner than scheduled. urgency normal (the default): within one interval " +
					"of the last beat; now: at once, past the minimum interval between actions. The other valves " +
					"(pause, active hours, caps, usage, breaker) still apply, and the beat still decides whether to act.",
				Schema: ext.Schema(map[string]any{
					"urgency": map[string]any{"type": "string", "enum": []string{"normal", "now"}, "description": "normal (default) or now."},
					"reason":  str("Optional: why, recorded with the beat."),
				}),
			},
			{
				Name:        ToolInstructionsGet,
				Description: "Read the heartbeat's checklist (Markdown) and the path of its file.",
				Schema:      ext.Schema(map[string]any{}),
				ReadOnly:    true,
			},
			{
				Name: ToolInstructionsSet,
				Description: "Replace the heartbeat's checklist with new Markdown content (at most 64 KiB). Read it first " +
					"with heartbeat_instructions_get and keep what is still wanted. An empty checklist means nothing to do.",
				Schema:      ext.Schema(map[string]any{"content": str("The whole new checklist, in Markdown.")}, "content"),
				Destructive: true,
			},
		},
	}
}

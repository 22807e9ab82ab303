// Package heartbeat is the "heartbeat" extension (MCP server ce_heartbeat):
// tools for sessions to see and steer ce's heartbeat (package
// pkg/heartbeat): its status, the pause switch, triggers, and the
// checklist it works from. It is not enabled by default; the heartbeat is
// opt-in.
//
// Sessions get less than a person at a shell: heartbeat_resume only turns
// the pause switch off (an authentication pause and the circuit breaker
// need ce-heartbeat resume), heartbeat_trigger cannot force past the
// valves, and the heartbeat's own session cannot trigger with urgency now,
// so an action cannot start the next one before min_interval.
package heartbeat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	hb "github.com/ce-platform/ce/pkg/heartbeat"
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

// maxPause bounds heartbeat_pause.
const maxPause = 7 * 24 * time.Hour

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_heartbeat.
const Prompt = `ce runs a heartbeat: a periodic check that reads a checklist (HEARTBEAT.md) and gate commands, decides with a small model whether anything needs doing, and if so queues a prompt in its own session. With the ce_heartbeat tools you can read its status, pause or resume it, ask for a beat sooner (heartbeat_trigger, e.g. when you started something that needs checking later), and read or change its checklist. Add to the checklist only what should be looked at repeatedly, as short Markdown items; keep it short, since every beat reads it.`

// SessionPrompt is added for the heartbeat's own session.
const SessionPrompt = `This is the heartbeat's own session: prompts here come from the heartbeat, not from a person, and nobody watches live. Do the task you are given, keep changes small and safe, do not start long-running, destructive or costly work unless the task asks for it, and end with a short summary of what you did and of anything a person should look at. When a checklist item was a one-off and is done, remove it with heartbeat_instructions_get and heartbeat_instructions_set.`

// New returns the heartbeat extension.
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
				Handler:  status,
			},
			{
				Name:        ToolPause,
				Description: "Pause the heartbeat: no beat runs until it is resumed, or until the duration passes.",
				Schema: ext.Schema(map[string]any{
					"duration": str("Optional: how long, e.g. \"2h\" (at most 7 days); without it, until resumed."),
					"reason":   str("Optional: why, shown in the status."),
				}),
				Handler: pause,
			},
			{
				Name: ToolResume,
				Description: "Turn the heartbeat's pause switch off. A pause after an authentication or billing error and " +
					"the circuit breaker are cleared only by a person (ce-heartbeat resume).",
				Schema:  ext.Schema(map[string]any{}),
				Handler: resume,
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
				Handler: trigger,
			},
			{
				Name:        ToolInstructionsGet,
				Description: "Read the heartbeat's checklist (Markdown) and the path of its file.",
				Schema:      ext.Schema(map[string]any{}),
				ReadOnly:    true,
				Handler:     instructionsGet,
			},
			{
				Name: ToolInstructionsSet,
				Description: "Replace the heartbeat's checklist with new Markdown content (at most 64 KiB). Read it first " +
					"with heartbeat_instructions_get and keep what is still wanted. An empty checklist means nothing to do.",
				Schema:      ext.Schema(map[string]any{"content": str("The whole new checklist, in Markdown.")}, "content"),
				Destructive: true,
				Handler:     instructionsSet,
			},
		},
	}
}

func engine(c ext.Call) (*hb.Engine, error) {
	if c.Env.State == nil {
		return nil, fmt.Errorf("the heartbeat tools have no state directory (CE_STATE_DIR is not set)")
	}
	cfg := c.Env.Config
	if cfg == nil {
		cfg = config.Default()
	}
	return hb.New(c.Env.State, cfg), nil
}

func by(c ext.Call) string {
	if c.Env.Session == "" {
		return "session"
	}
	return "session:" + c.Env.Session
}

func status(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	s, err := e.Status(ctx)
	if err != nil {
		return ext.Errorf("cannot read the heartbeat's state: %v", err)
	}
	return ext.JSON(s)
}

func pause(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	d, err := c.Duration("duration", 0)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	if d < 0 || d > maxPause {
		return ext.Errorf("duration must be between 0 and %s, got %s", maxPause, d)
	}
	st, err := e.Pause(ctx, d, strings.TrimSpace(c.String("reason")), by(c))
	if err != nil {
		return ext.Errorf("the heartbeat was not paused: %v", err)
	}
	if st.PausedUntil.IsZero() {
		return ext.Result{Text: "The heartbeat is paused until it is resumed (heartbeat_resume, or ce-heartbeat resume)."}
	}
	return ext.Result{Text: "The heartbeat is paused until " + st.PausedUntil.UTC().Format(time.RFC3339) + "."}
}

func resume(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	st, cleared, err := e.Resume(ctx, hb.ResumeOptions{By: by(c)})
	if err != nil {
		return ext.Errorf("the heartbeat was not resumed: %v", err)
	}
	text := "The heartbeat was not paused."
	if len(cleared) > 0 {
		text = "The heartbeat is resumed."
	}
	if st.AuthPaused {
		text += " It stays paused after an authentication or billing error (" + st.AuthReason + "): a person must fix the login and run ce-heartbeat resume."
	}
	return ext.Result{Text: text}
}

func trigger(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	u, err := hb.CheckUrgency(c.String("urgency"))
	if err != nil {
		return ext.Errorf("%v", err)
	}
	note := ""
	if u == hb.UrgencyNow && c.Env.Session != "" && c.Env.Session == e.Config().Heartbeat.Session {
		u, note = hb.UrgencyNormal, " (the heartbeat's own session triggers with urgency normal)"
	}
	due, err := e.Trigger(ctx, hb.TriggerRequest{Urgency: u, Source: by(c), Reason: c.String("reason")})
	if err != nil {
		return ext.Errorf("the trigger was not recorded: %v", err)
	}
	text := "Triggered" + note + ": the next beat is due at " + due.UTC().Format(time.RFC3339) + "."
	if !e.Serving() {
		text += " No ce-heartbeat serve runs, so it happens at the next ce-heartbeat tick."
	}
	return ext.Result{Text: text}
}

func instructionsGet(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	path, err := e.InstructionsPath()
	if err != nil {
		return ext.Errorf("%v", err)
	}
	in, err := hb.ReadInstructions(path)
	if err != nil {
		return ext.Errorf("cannot read %s: %v", path, err)
	}
	switch in.State {
	case "missing":
		return ext.Result{Text: "The checklist " + path + " does not exist yet: the heartbeat has nothing to do."}
	case "empty":
		return ext.Result{Text: "The checklist " + path + " is effectively empty (only headings, comments or blank lines):\n\n" + in.Text}
	}
	return ext.Result{Text: "The checklist " + path + ":\n\n" + in.Text}
}

func instructionsSet(ctx context.Context, c ext.Call) ext.Result {
	e, err := engine(c)
	if err != nil {
		return ext.Errorf("%v", err)
	}
	content, ok := c.Args["content"].(string)
	if !ok {
		return ext.Errorf(`argument "content" is required (a string; "" empties the checklist)`)
	}
	path, err := e.SetInstructions(content)
	if err != nil {
		return ext.Errorf("the checklist was not changed: %v", err)
	}
	if !hb.Meaningful(content) {
		return ext.Result{Text: "Saved " + path + ". It is now effectively empty: the heartbeat has nothing to do unless a gate fires."}
	}
	return ext.Result{Text: fmt.Sprintf("Saved %s (%d bytes).", path, len(content))}
}

// Package tools gives the heartbeat extension's tools (package
// ext/heartbeat) their handlers, which act on the heartbeat's state
// through its engine (package pkg/heartbeat). Only ce-mcp imports it,
// through ext/builtin/handlers.
//
// Sessions get less than a person at a shell: heartbeat_resume only turns
// the pause switch off (an authentication pause and the circuit breaker
// need ce-heartbeat resume), heartbeat_trigger cannot force past the
// valves, and the heartbeat's own session cannot trigger with urgency now,
// so an action cannot start the next one before min_interval.
package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/ext"
	extheartbeat "github.com/ce-platform/ce/pkg/ext/heartbeat"
	hb "github.com/ce-platform/ce/pkg/heartbeat"
)

// maxPause bounds heartbeat_pause.
const maxPause = 7 * 24 * time.Hour

func init() { ext.RegisterHandlers(extheartbeat.Name, Fill) }

// Fill sets the handlers of the heartbeat extension's tools.
func Fill(e *ext.Extension) {
	handlers := map[string]func(context.Context, ext.Call) ext.Result{
		extheartbeat.ToolStatus:          status,
		extheartbeat.ToolPause:           pause,
		extheartbeat.ToolResume:          resume,
		extheartbeat.ToolTrigger:         trigger,
		extheartbeat.ToolInstructionsGet: instructionsGet,
		extheartbeat.ToolInstructionsSet: instructionsSet,
	}
	for i := range e.Tools {
		if h, ok := handlers[e.Tools[i].Name]; ok {
			e.Tools[i].Handler = h
		}
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

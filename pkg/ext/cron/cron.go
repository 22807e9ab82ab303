// Package cron is the "cron" extension (MCP server ce_cron) as the queue
// worker sees it: its tools' names and schemas and its system prompt
// fragment. Sessions schedule prompts (cron_create), list the jobs
// (cron_list) and delete the jobs they created (cron_delete).
//
// The handlers are in package cron/tools, which only ce-mcp imports (see
// ext.RegisterHandlers), with the jobs of ce-cron (package cronjob).
package cron

import "github.com/ce-platform/ce/pkg/ext"

// Name is the extension's name in config.
const Name = "cron"

// Tool names.
const (
	ToolCreate = "cron_create"
	ToolList   = "cron_list"
	ToolDelete = "cron_delete"
)

func init() { ext.Register(Name, New) }

// Prompt is the system prompt fragment of runs that get ce_cron.
const Prompt = `You can schedule prompts with the ce_cron tools: cron_create sends a prompt to a session later, once (in: "20m", or at: a time) or on a schedule (schedule: a cron expression such as "0 9 * * 1-5", in the time zone tz), to your own session unless you name another or ask for a fresh session per run (new: true). The prompt arrives as a new message with none of your current context, so write it complete on its own: what to do, where, and what to report. Use it for reminders, follow-ups and recurring checks the user asked for, not to wait for something you can do now. cron_list shows every job and when it fires next; cron_delete deletes a job you created (not those of the user or other sessions).`

// New returns the cron extension, without handlers.
func New() *ext.Extension {
	return &ext.Extension{
		Name:        Name,
		Description: "Schedule prompts into sessions, once or on a cron schedule (cron_create, cron_list, cron_delete).",
		Prompt:      Prompt,
		Tools: []ext.Tool{
			{
				Name: ToolCreate,
				Description: "Schedule a prompt: give a unique name, the prompt, and exactly one of schedule (a cron expression: " +
					"5 fields minute hour day-of-month month day-of-week, 6 with seconds first, or a macro such as @daily), " +
					"in (a delay such as \"20m\", once) or at (a time, once: RFC 3339, \"2026-01-02 15:04\" or \"15:04\" for today " +
					"or tomorrow, in tz). The prompt goes to your own session unless session names another or new is true (a fresh " +
					"session per run, removed after it unless keep). Returns when it fires first.",
				Schema: ext.Schema(map[string]any{
					"name":     ext.Prop("string", "Unique job name: letters, digits, '-' and '_', at most 48."),
					"prompt":   ext.Prop("string", "The prompt to send, complete on its own."),
					"schedule": ext.Prop("string", "A cron expression, e.g. \"0 9 * * 1-5\" (9:00 on weekdays) or \"*/30 * * * *\"."),
					"in":       ext.Prop("string", "Fire once after this delay, e.g. \"20m\" or \"2h\"."),
					"at":       ext.Prop("string", "Fire once at this time: RFC 3339, \"2026-01-02 15:04\", or \"15:04\"."),
					"tz":       ext.Prop("string", "IANA time zone of schedule and at, e.g. \"Europe/Paris\" (default: the local zone)."),
					"session":  ext.Prop("string", "The session the prompt goes to (default: yours)."),
					"new":      ext.Prop("boolean", "Run each fire in a fresh session instead (default false)."),
					"template": ext.Prop("string", "Template of the fresh sessions (with new)."),
					"keep":     ext.Prop("boolean", "Keep each fresh session after its run (with new; default false)."),
					"missed": map[string]any{
						"type": "string", "enum": []string{"skip", "once", "all"}, // cronjob.MissedSkip, MissedOnce, MissedAll
						"description": "What to do about times missed while the scheduler was down: skip, once (default: the latest, within a grace window) or all.",
					},
				}, "name", "prompt"),
			},
			{
				Name:        ToolList,
				Description: "List the scheduled jobs: schedule, target, next fire, last run and result, source (config, cli, or session:NAME), and whether you may delete it.",
				Schema:      ext.Schema(map[string]any{}),
				ReadOnly:    true,
			},
			{
				Name:        ToolDelete,
				Description: "Delete a job you created with cron_create. Jobs from the config, from a shell or from other sessions are refused.",
				Schema: ext.Schema(map[string]any{
					"name": ext.Prop("string", "The job's name."),
				}, "name"),
				Destructive: true,
			},
		},
	}
}

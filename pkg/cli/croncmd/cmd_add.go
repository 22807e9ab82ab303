package croncmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/platform"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
)

// AddCmd adds a job.
type AddCmd struct {
	Name     string   `arg:"" help:"Job name: letters, digits, '-' and '_', at most 48."`
	Prompt   []string `arg:"" optional:"" help:"The prompt; read from stdin when omitted or \"-\"."`
	Cron     string   `help:"Fire on this schedule: a cron expression of 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or a macro (@hourly, @daily, @weekly, @monthly, @yearly)." placeholder:"EXPR" xor:"when"`
	In       string   `help:"Fire once after this delay (90s, 20m, 1h30m)." placeholder:"DURATION" xor:"when"`
	At       string   `help:"Fire once at this time: RFC 3339, \"2006-01-02 15:04\", or \"15:04\" (today, or tomorrow once passed), in --tz." placeholder:"TIME" xor:"when"`
	Session  string   `help:"Send the prompt to this existing session." placeholder:"NAME" xor:"target"`
	New      bool     `help:"Run each fire in a fresh session named cron-<job>-<n> (the default without --session); it is removed after its run unless --keep." xor:"target"`
	Template string   `help:"Template of the fresh sessions (implies --new)." placeholder:"NAME"`
	Keep     bool     `help:"Keep each fresh session after its run (implies --new)."`
	TZ       string   `name:"tz" help:"Time zone the schedule is read in, an IANA name such as Europe/Paris (default: the local zone)." placeholder:"ZONE"`
	Missed   string   `help:"What to do about due times missed while no scheduler ran: ${enum} (the latest, within cron.grace)." enum:"skip,once,all" default:"once"`
	JSON     bool     `name:"json" help:"Print the job as JSON."`
}

// Run checks and stores the job, then prints when it fires first.
func (c *AddCmd) Run(env *clikit.Env) error {
	if c.Cron == "" && c.In == "" && c.At == "" {
		return clikit.Usage("ce-cron add NAME --cron '0 9 * * 1-5' PROMPT, --in 20m or --at 15:30", "give a schedule: --cron EXPR, --in DURATION or --at TIME")
	}
	if c.Session != "" && (c.Template != "" || c.Keep) {
		return clikit.Usage("drop --session to run each fire in a fresh session", "--template and --keep apply to fresh sessions, not to session %q", c.Session)
	}
	if err := cronjob.ValidName(c.Name); err != nil {
		return clikit.Usage("", "%v", err)
	}
	prompt, err := readPrompt(env, c.Prompt)
	if err != nil {
		return err
	}
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	if _, ok := cfg.Cron.Jobs[c.Name]; ok {
		return clikit.Fail("pick another name", "job %q is defined in the config (cron.jobs)", c.Name)
	}
	s, st, err := jobs(env)
	if err != nil {
		return err
	}
	spec := cronjob.Spec{
		Name: c.Name, Cron: c.Cron, In: c.In, At: c.At, TZ: c.TZ, Prompt: prompt, Missed: c.Missed,
		Source: cronjob.SourceCLI, CreatedBy: "cli:" + platform.DefaultUser(),
		Target: cronjob.Target{Session: c.Session, New: c.Session == "", Template: c.Template, Keep: c.Keep, User: platform.DefaultUser()},
	}
	if spec.New {
		if c.Template != "" {
			if _, err := template.Lookup(cfg, c.Template); err != nil {
				return clikit.Usage("define it under templates: in the config, or pick a known one", "%v", err)
			}
		}
		if spec.Dir, err = os.Getwd(); err != nil {
			return err
		}
	} else {
		if err := session.ValidName(c.Session); err != nil {
			return clikit.Usage("", "%v", err)
		}
		if _, err := session.Open(st).Get(env.Ctx, c.Session); errors.Is(err, session.ErrNotFound) {
			return clikit.Fail("ce-session new "+c.Session+" creates it; or use --new for a fresh session per run", "no session %q", c.Session)
		} else if err != nil {
			return err
		}
	}
	now := time.Now()
	j, err := spec.Job(now)
	if err != nil {
		return clikit.Usage(scheduleHint(c), "%v", err)
	}
	if err := s.Add(env.Ctx, j); err != nil {
		return jobErr(c.Name, err)
	}
	notify(env.Ctx, st, j.Name)
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(view(j, 0))
	}
	fmt.Fprintf(env.Stdout, "added job %s: fires %s (%s)\n", j.Name, j.Next.Local().Format("2006-01-02 15:04:05 MST"), in(j.Next, now))
	return nil
}

func scheduleHint(c *AddCmd) string {
	switch {
	case c.Cron != "":
		return "examples: '*/15 * * * *' (every 15 minutes), '0 9 * * 1-5' (9:00 on weekdays), @daily"
	case c.In != "":
		return "give a positive delay such as 90s, 20m or 1h30m"
	case c.At != "":
		return "give a future time: 2026-01-02T15:04:05+01:00, \"2026-01-02 15:04\" or 15:04"
	}
	return ""
}

// readPrompt joins the prompt arguments, or reads stdin when there are
// none (or just "-").
func readPrompt(env *clikit.Env, args []string) (string, error) {
	var prompt string
	if len(args) > 0 && !(len(args) == 1 && args[0] == "-") {
		prompt = strings.Join(args, " ")
	} else {
		if clikit.IsTerminal(env.Stdin) {
			return "", clikit.Usage("pass the prompt as arguments or on stdin", "no prompt")
		}
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 32<<10)
		for len(buf) <= queue.MaxPrompt {
			n, err := env.Stdin.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				break
			}
		}
		prompt = string(buf)
	}
	if err := queue.CheckPrompt(prompt); err != nil {
		return "", clikit.Usage("pass the prompt as arguments or on stdin", "%v", err)
	}
	return prompt, nil
}

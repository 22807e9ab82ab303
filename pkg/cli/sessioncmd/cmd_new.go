package sessioncmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/eventlog"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/template"
	"github.com/google/uuid"
)

// NewCmd creates a session.
type NewCmd struct {
	Name     string `arg:"" help:"Session name: letters, digits, '-' and '_', at most 64."`
	User     string `help:"Owner of the session; each user has sessions.max_per_user slots (default: your login name)."`
	Dir      string `help:"Working directory of the session (default sessions.default_dir, else the current directory)." type:"path"`
	Model    string `help:"Model for this session (default: the template's, else agent.model)."`
	Template string `help:"Template: coder, reviewer, researcher or one from config (model, system prompt, tools, MCP allowlist, directory)."`
	JSON     bool   `name:"json" help:"Print the session record as JSON."`
}

// Run creates the record and the tmux session with its runner; if the
// runner cannot start, the record is removed again.
func (c *NewCmd) Run(env *clikit.Env) error {
	if err := session.ValidName(c.Name); err != nil {
		return clikit.Usage("session names use letters, digits, '-' and '_'", "%v", err)
	}
	d, err := open(env)
	if err != nil {
		return err
	}
	var tmpl template.Template
	if c.Template != "" {
		if tmpl, err = template.Lookup(d.Config, c.Template); err != nil {
			return clikit.Usage("define it under templates: in the config, or pick a known one", "%v", err)
		}
	}
	dir := c.Dir
	if dir == "" {
		dir = tmpl.Dir
	}
	if dir == "" {
		dir = d.Config.Sessions.DefaultDir
	}
	if dir == "" {
		if dir, err = os.Getwd(); err != nil {
			return err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return clikit.Usage("create the directory first, or pass another with --dir", "directory %s does not exist", dir)
	}
	u := c.User
	if u == "" {
		u = defaultUser()
	}
	now := time.Now().UTC()
	rec := session.Record{
		Name: c.Name, User: u, Status: session.Idle, Dir: dir, Model: c.Model, Template: c.Template,
		ClaudeSessionID: uuid.NewString(), Created: now, LastActive: now,
	}
	rec, err = d.Sessions.Create(env.Ctx, rec, d.Config.Sessions.MaxPerUser)
	var se *session.SlotError
	var ee *session.ExistsError
	switch {
	case errors.As(err, &se):
		return clikit.Fail("remove one with ce-session rm NAME, or raise sessions.max_per_user", "%v", err)
	case errors.As(err, &ee):
		return clikit.Fail("pick another name, or ce-session show "+c.Name, "%v", err)
	case err != nil:
		return err
	}
	if err := d.StartRunner(env.Ctx, rec); err != nil {
		d.Tmux.KillSession(env.Ctx, rec.Name)
		d.Sessions.Delete(env.Ctx, rec.Name)
		return clikit.Fail("ce doctor checks tmux and the installation", "cannot start session %s: %v", c.Name, err)
	}
	d.Events.Append(eventlog.Event{Type: "session.created", Session: rec.Name, Data: map[string]any{"user": rec.User, "slot": rec.Slot, "dir": rec.Dir}})
	if c.JSON {
		return json.NewEncoder(env.Stdout).Encode(rec)
	}
	fmt.Fprintf(env.Stdout, "created session %s (user %s, slot %d) in %s\n", rec.Name, rec.User, rec.Slot, rec.Dir)
	return nil
}

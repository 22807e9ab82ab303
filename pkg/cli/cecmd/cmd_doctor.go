package cecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/supervisor"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/tmux"
)

// DoctorCmd checks the installation.
type DoctorCmd struct {
	JSON bool `name:"json" help:"Print one JSON object per check."`
}

// Check is one finding of the doctor.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Remedy string `json:"remedy,omitempty"`
}

// Run runs every check; the exit status is 1 when one fails.
func (c *DoctorCmd) Run(env *clikit.Env) error {
	ctx, cancel := context.WithTimeout(env.Ctx, 30*time.Second)
	defer cancel()
	var checks []Check
	add := func(ch Check) { checks = append(checks, ch) }

	path, explicit := config.Path(env.Globals.Config)
	cfg, err := config.Load(path, explicit)
	if err != nil {
		add(Check{Name: "config", Detail: err.Error(), Remedy: "fix the file; config.example.yaml documents every key"})
		cfg = config.Default()
	} else if cfg.Source() == "" {
		add(Check{Name: "config", OK: true, Detail: "no file at " + path + "; using defaults"})
	} else {
		add(Check{Name: "config", OK: true, Detail: cfg.Source()})
	}

	add(checkClaude(ctx, cfg.Agent.Command))
	add(checkTmux(ctx))
	add(checkState(env.Globals.StateDir))
	for _, ch := range checkPlatform(ctx, env.Globals.StateDir) {
		add(ch)
	}

	failed := false
	for _, ch := range checks {
		if !ch.OK {
			failed = true
		}
		if c.JSON {
			json.NewEncoder(env.Stdout).Encode(ch)
			continue
		}
		mark := "ok  "
		if !ch.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(env.Stdout, "%s %-8s %s\n", mark, ch.Name, ch.Detail)
		if ch.Remedy != "" {
			fmt.Fprintf(env.Stdout, "     %-8s remedy: %s\n", "", ch.Remedy)
		}
	}
	if failed {
		return clikit.Silent{Code: clikit.ExitFailure}
	}
	return nil
}

func checkClaude(ctx context.Context, command string) Check {
	ch := Check{Name: "claude"}
	path, err := exec.LookPath(command)
	if err != nil {
		ch.Detail = fmt.Sprintf("%q not found on PATH", command)
		ch.Remedy = "npm install -g @anthropic-ai/claude-code, or set agent.command to its path"
		return ch
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		ch.Detail = fmt.Sprintf("%s --version failed: %v", path, err)
		ch.Remedy = "reinstall claude: npm install -g @anthropic-ai/claude-code"
		return ch
	}
	version := strings.TrimSpace(string(out))
	auth, err := exec.CommandContext(ctx, path, "auth", "status").Output()
	var st struct {
		LoggedIn   bool   `json:"loggedIn"`
		AuthMethod string `json:"authMethod"`
	}
	if err != nil || json.Unmarshal(auth, &st) != nil {
		ch.Detail = fmt.Sprintf("%s at %s; claude auth status gave no answer", version, path)
		ch.Remedy = "run claude and log in (/login)"
		return ch
	}
	if !st.LoggedIn {
		ch.Detail = fmt.Sprintf("%s at %s; not logged in", version, path)
		ch.Remedy = "run claude once and log in with /login"
		return ch
	}
	ch.OK = true
	ch.Detail = fmt.Sprintf("%s at %s; logged in (%s)", version, path, st.AuthMethod)
	return ch
}

func checkTmux(ctx context.Context) Check {
	ch := Check{Name: "tmux"}
	major, _, raw, err := tmux.Version(ctx)
	switch {
	case err != nil:
		ch.Detail = err.Error()
		ch.Remedy = "install tmux 3 or later (apt-get install tmux)"
	case major < 3:
		ch.Detail = raw + " is older than 3"
		ch.Remedy = "install tmux 3 or later"
	default:
		ch.OK = true
		ch.Detail = raw
	}
	return ch
}

func checkState(flag string) Check {
	ch := Check{Name: "state"}
	root, err := statedir.Resolve(flag)
	if err != nil {
		ch.Detail = err.Error()
		ch.Remedy = "set CE_STATE_DIR or pass --state-dir"
		return ch
	}
	fi, err := os.Stat(root)
	if os.IsNotExist(err) {
		ch.OK = true
		ch.Detail = root + " does not exist yet; it is created (0700) on first use"
		return ch
	}
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	if fi.Mode().Perm() != 0o700 {
		ch.Detail = fmt.Sprintf("%s is mode %o, not 0700", root, fi.Mode().Perm())
		ch.Remedy = "chmod 700 " + root
		return ch
	}
	var loose []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || len(loose) >= 5 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		switch {
		case d.IsDir() && info.Mode().Perm()&0o077 != 0,
			info.Mode().IsRegular() && info.Mode().Perm()&0o077 != 0:
			loose = append(loose, p)
		}
		return nil
	})
	if len(loose) > 0 {
		ch.Detail = fmt.Sprintf("readable by others: %s", strings.Join(loose, ", "))
		ch.Remedy = "chmod -R go-rwx " + root
		return ch
	}
	ch.OK = true
	ch.Detail = root + " (0700)"
	return ch
}

// checkPlatform reports the broker and each daemon ce up runs. Nothing is
// wrong when ce up is not running: every command works without it.
func checkPlatform(ctx context.Context, flag string) []Check {
	root, err := statedir.Resolve(flag)
	if err != nil {
		return nil
	}
	st := &statedir.Dir{Root: root}
	var out []Check
	sock := bridge.Socket(st)
	bc := bridge.Dial(sock)
	defer bc.Close()
	var h map[string]any
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = bc.Call(cctx, "bridge.health", nil, &h)
	cancel()
	switch {
	case err == nil:
		out = append(out, Check{Name: "broker", OK: true, Detail: "answers on " + sock})
	case errors.Is(err, bridge.ErrNoBroker):
		if _, serr := os.Stat(sock); serr == nil {
			out = append(out, Check{Name: "broker", Detail: "a stale socket " + sock + " is left and nothing answers on it",
				Remedy: "start it with ce up (or ce-bridge serve), which replaces the stale socket"})
		} else {
			out = append(out, Check{Name: "broker", OK: true, Detail: "not running (optional: ce up starts it)"})
		}
	default:
		out = append(out, Check{Name: "broker", Detail: err.Error(), Remedy: "ce down && ce up, or restart ce-bridge serve"})
	}
	status, err := supervisor.ReadStatus(supervisor.StatusFile(st))
	if err != nil || status.State == supervisor.StateStopped || !supervisor.Alive(status.PID) {
		out = append(out, Check{Name: "daemons", OK: true, Detail: "ce up is not running (optional)"})
		return out
	}
	for _, p := range status.Pieces {
		ch := Check{Name: p.Name, OK: p.State == supervisor.StateRunning && supervisor.Alive(p.PID)}
		ch.Detail = fmt.Sprintf("%s, pid %d, %d restarts", p.State, p.PID, p.Restarts)
		if !ch.OK {
			if p.LastError != "" {
				ch.Detail += ": " + p.LastError
			}
			ch.Remedy = "ce logs " + p.Name + " shows why; ce down && ce up restarts it"
		}
		out = append(out, ch)
	}
	return out
}

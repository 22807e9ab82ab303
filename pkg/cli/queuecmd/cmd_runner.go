package queuecmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/runner"
)

// RunnerCmd is the runner of one session; ce starts it in the session's
// tmux pane.
type RunnerCmd struct {
	Name string `arg:"" help:"Session name."`
}

// cleanedVars are removed from claude's environment: a nested CLAUDECODE
// makes claude refuse to start, and ce's own variables are not claude's.
var cleanedVars = []string{"CLAUDECODE=", "CLAUDE_CODE_ENTRYPOINT=", "CE_", "TMUX=", "TMUX_PANE="}

// ChildEnv returns the environment for claude: base cleaned of ce's and
// nested-claude variables, then agent.env applied.
func ChildEnv(base []string, agentEnv map[string]string) []string {
	out := make([]string, 0, len(base)+len(agentEnv))
	for _, kv := range base {
		drop := false
		for _, p := range cleanedVars {
			if strings.HasPrefix(kv, p) {
				drop = true
				break
			}
		}
		if name, _, _ := strings.Cut(kv, "="); agentEnv[name] != "" {
			drop = true
		} else if _, set := agentEnv[name]; set {
			drop = true
		}
		if !drop {
			out = append(out, kv)
		}
	}
	for k, v := range agentEnv {
		out = append(out, k+"="+v)
	}
	return out
}

// publisher returns a non-blocking function that publishes each stream line
// on session.<name> through the broker, in order, dropping lines while no
// broker runs (followers that need every line read them from the runner or
// stream.jsonl).
func publisher(ctx context.Context, bc *bridge.Client, name string) func(run string, line []byte) {
	type msg struct {
		run  string
		line []byte
	}
	ch := make(chan msg, 1024)
	topic := "session." + name
	go func() {
		var down time.Time
		for m := range ch {
			if !down.IsZero() && time.Since(down) < time.Second {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			err := bc.Publish(pctx, topic, map[string]any{"run": m.run, "event": json.RawMessage(m.line)})
			cancel()
			down = time.Time{}
			if errors.Is(err, bridge.ErrNoBroker) {
				down = time.Now()
			}
		}
	}()
	return func(run string, line []byte) {
		select {
		case ch <- msg{run, append([]byte(nil), line...)}:
		default:
		}
	}
}

// Run serves the session until the runner is told to quit or its tmux
// session is killed.
func (c *RunnerCmd) Run(env *clikit.Env) error {
	debug.SetGCPercent(50) // the runner idles for hours: keep it small
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	log, closeLog, err := env.DaemonLogger(st, "runner", cfg.Log.Level)
	if err != nil {
		return err
	}
	defer closeLog()
	log = log.With().Str("session", c.Name).Logger()
	cfgPath := env.ConfigPath()
	base := os.Environ()
	r, err := runner.New(runner.Options{
		Session: c.Name,
		State:   st,
		Env: func() []string {
			agentEnv := cfg.Agent.Env
			if cfgPath != "" {
				// A cold start picks up configuration changes.
				if fresh, err := config.Load(cfgPath, true); err == nil {
					agentEnv = fresh.Agent.Env
				} else {
					log.Warn().Err(err).Msg("config no longer loads; using the one read at start")
				}
			}
			return ChildEnv(base, agentEnv)
		},
		LaunchGap: time.Duration(cfg.Agent.LaunchGap),
		KeepWarm:  time.Duration(cfg.Sessions.KeepWarm),
		MaxWarm:   cfg.Sessions.MaxWarm,
		Out:       env.Stdout,
		Log:       log,
		Publish:   publisher(env.Ctx, bridge.Dial(bridge.Socket(st)), c.Name),
	})
	if err != nil {
		return err
	}
	return r.Serve(env.Ctx)
}

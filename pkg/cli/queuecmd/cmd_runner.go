package queuecmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime/debug"
	"time"

	"github.com/ce-platform/ce/pkg/agentenv"
	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/ce-platform/ce/pkg/runner"
)

// RunnerCmd is the runner of one session; ce starts it in the session's
// tmux pane.
type RunnerCmd struct {
	Name string `arg:"" help:"Session name."`
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
	log, closeLog, err := daemon.Logger(st, "runner", cfg.Log.Level, env.Stderr)
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
			agent := cfg.Agent
			if cfgPath != "" {
				// A cold start picks up configuration changes.
				if fresh, err := config.Load(cfgPath, true); err == nil {
					agent = fresh.Agent
				} else {
					log.Warn().Err(err).Msg("config no longer loads; using the one read at start")
				}
			}
			return agentenv.Build(base, agent.Env, agent.EnvPass)
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

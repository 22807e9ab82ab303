package mcpcmd

import (
	"context"
	"errors"
	"os"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/ce-platform/ce/pkg/ext"
	"github.com/ce-platform/ce/pkg/mcpconfig"
	"github.com/ce-platform/ce/pkg/mcpserver"
)

// ServeCmd serves extensions over stdio.
type ServeCmd struct {
	Gateway bool     `help:"Fold the tools of each extension into one tool with an \"action\" argument (also mcp.gateway in config)."`
	Ext     []string `arg:"" name:"ext" help:"Extensions to serve; several are served as one server with all their tools."`
}

// Run serves until claude closes stdin or a signal arrives. Nothing but
// MCP messages may reach stdout.
func (c *ServeCmd) Run(env *clikit.Env) error {
	exts, err := lookup(c.Ext)
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	cfg, cfgErr := env.Config()
	level := "info"
	if cfgErr == nil {
		level = cfg.Log.Level
	}
	log, closeLog, err := daemon.Logger(st, "mcp", level, env.Stderr)
	if err != nil {
		return clikit.Fail("check the permissions of the state directory", "open the log: %v", err)
	}
	defer closeLog()
	sess := os.Getenv(mcpconfig.EnvSession)
	log = log.With().Str("session", sess).Strs("ext", c.Ext).Int("pid", os.Getpid()).Logger()
	if cfgErr != nil {
		log.Error().Err(cfgErr).Msg("cannot load the configuration")
		return cfgErr
	}
	bridge := os.Getenv(mcpconfig.EnvBridgeSocket)
	if bridge == "" {
		bridge = st.BridgeSocket()
	}
	e := ext.Env{State: st, Config: cfg, Session: sess, BridgeSocket: bridge}
	opts := mcpserver.Options{Gateway: c.Gateway || cfg.MCP.Gateway, Version: clikit.Version, Log: log}
	log.Info().Bool("gateway", opts.Gateway).Msg("serving")
	err = mcpserver.ServeAll(env.Ctx, exts, e, env.Stdin, env.Stdout, opts)
	if errors.Is(err, context.Canceled) && env.Ctx.Err() != nil {
		err = nil // a signal is how claude stops its servers
	}
	if err != nil {
		log.Error().Err(err).Msg("stopped")
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

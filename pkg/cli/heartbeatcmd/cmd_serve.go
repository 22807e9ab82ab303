package heartbeatcmd

import (
	"errors"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/heartbeat"
)

// ServeCmd runs the daemon.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Sleeps until the next beat is due and beats, without polling: it wakes when heartbeat.db changes (a " +
		"trigger, pause or resume from any process), on the broker's heartbeat.trigger topic, and while an action is " +
		"open or the session busy, when queue.db changes. It provides heartbeat.trigger and heartbeat.status on the " +
		"broker when one runs. SIGHUP re-reads the configuration; SIGINT or SIGTERM stop it (a decision in flight is " +
		"killed and the beat is run again later). Logs go to logs/heartbeat.log. One serve per state directory."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	debug.SetGCPercent(50) // it idles for hours: keep it small
	e, err := open(env)
	if err != nil {
		return err
	}
	log, closeLog, err := env.DaemonLogger(e.State, "heartbeat", e.Config().Log.Level)
	if err != nil {
		return clikit.Fail("check the permissions of the state directory", "open the log: %v", err)
	}
	defer closeLog()
	e.Log = log.With().Int("pid", os.Getpid()).Logger()

	reload := make(chan *config.Config, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-env.Ctx.Done():
				return
			case <-hup:
			}
			path, explicit := config.Path(env.Globals.Config)
			cfg, err := config.Load(path, explicit)
			if err != nil {
				e.Log.Error().Err(err).Msg("SIGHUP: the configuration does not load; keeping the old one")
				continue
			}
			e.Log.Info().Msg("SIGHUP: reloading the configuration")
			select {
			case reload <- cfg:
			case <-env.Ctx.Done():
				return
			}
		}
	}()
	err = e.Serve(env.Ctx, reload)
	var serving *heartbeat.ErrServing
	if errors.As(err, &serving) {
		return clikit.Fail("stop it first; ce-heartbeat trigger and tick work beside it", "%v", err)
	}
	if err != nil {
		e.Log.Error().Err(err).Msg("heartbeat stopped")
		return err
	}
	e.Log.Info().Msg("heartbeat stopped")
	return nil
}

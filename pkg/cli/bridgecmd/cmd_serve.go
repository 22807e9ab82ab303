package bridgecmd

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/lockfile"
)

// ServeCmd runs the broker.
type ServeCmd struct{}

// Help is the long help of serve.
func (c *ServeCmd) Help() string {
	return "Listens on bridge.sock in the state directory (mode 0600) and serves peers of the same user " +
		"until SIGINT or SIGTERM, then removes the socket. SIGHUP is logged (there is nothing to reload). " +
		"Logs go to logs/bridge.log. A second broker on the same state directory refuses to start."
}

// Run serves until SIGINT or SIGTERM.
func (c *ServeCmd) Run(env *clikit.Env) error {
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	log, closeLog, err := env.DaemonLogger(st, "bridge", cfg.Log.Level)
	if err != nil {
		return clikit.Fail("check the permissions of the state directory", "open the log: %v", err)
	}
	defer closeLog()

	// The lock makes dial-then-listen atomic against a second serve.
	path := st.BridgeSocket()
	lock, err := lockfile.AcquireTimeout(st.Lock("bridge"), 5*time.Second)
	if err != nil {
		return clikit.Fail("", "%v", err)
	}
	ln, err := bridge.Listen(path)
	lock.Unlock()
	var running *bridge.AlreadyRunningError
	var tooLong *bridge.PathTooLongError
	switch {
	case errors.As(err, &running):
		return clikit.Fail("ce-bridge call bridge.health asks it how it is; stop it before starting another", "%v", err)
	case errors.As(err, &tooLong):
		return clikit.Usage("use a shorter --state-dir (CE_STATE_DIR)", "%v", err)
	case err != nil:
		return clikit.Fail("check the state directory, or pick another with --state-dir", "listen: %v", err)
	}
	defer ln.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-env.Ctx.Done():
				return
			case <-hup:
				log.Info().Msg("SIGHUP: the broker has nothing to reload")
			}
		}
	}()

	log.Info().Str("socket", path).Int("pid", os.Getpid()).Msg("broker serving")
	err = bridge.NewServer(log).Serve(env.Ctx, ln)
	if err != nil {
		log.Error().Err(err).Msg("broker stopped")
		return err
	}
	log.Info().Msg("broker stopped")
	return nil
}

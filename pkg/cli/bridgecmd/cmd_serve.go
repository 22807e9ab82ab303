package bridgecmd

import (
	"context"
	"errors"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/daemon"
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
	cfg, st, err := env.Setup()
	if err != nil {
		return err
	}
	spec := daemon.Spec{Name: "bridge", What: "a broker", Lock: "bridge-serve", NoHealth: true,
		Beside: "ce-bridge call bridge.health asks it how it is"}
	in := daemon.Input{State: st, Config: cfg, ConfigFlag: env.Globals.Config, Stderr: env.Stderr}
	return daemon.Run(env.Ctx, spec, in, func(ctx context.Context, dm *daemon.Daemon) error {
		// The lock makes dial-then-listen atomic against a broker of an
		// older ce that holds no serve lock.
		lock, err := lockfile.AcquireTimeout(st.Lock("bridge"), 5*time.Second)
		if err != nil {
			return err
		}
		ln, err := bridge.Listen(st.BridgeSocket())
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
		go func() {
			for range dm.Reload {
				dm.Log.Info().Msg("the broker has nothing to reload")
			}
		}()
		srv := bridge.NewServer(dm.Log)
		if srv.Owners, err = owners(); err != nil {
			return clikit.Fail("install the ce commands side by side", "%v", err)
		}
		dm.Log.Info().Str("socket", st.BridgeSocket()).Msg("broker serving")
		return srv.Serve(ctx, ln)
	})
}

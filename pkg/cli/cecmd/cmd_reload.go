package cecmd

import (
	"fmt"
	"syscall"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/supervisor"
)

// ReloadCmd makes a running ce up re-read its configuration.
type ReloadCmd struct{}

// Help is the long help of ce reload.
func (c *ReloadCmd) Help() string {
	return "Checks the configuration, then sends SIGHUP to ce up: pieces newly enabled start, pieces disabled stop, " +
		"and the others get SIGHUP and apply what they can. An invalid configuration is refused here with its error, " +
		"and ce up keeps the one it runs with."
}

// Run validates the config and signals the supervisor.
func (c *ReloadCmd) Run(env *clikit.Env) error {
	path, explicit := config.Path(env.Globals.Config)
	if _, err := config.Load(path, explicit); err != nil {
		return clikit.WithHint(clikit.ExitUsage, err, "fix the file; ce up keeps running with the configuration it has")
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	s, err := supervisor.ReadStatus(supervisor.StatusFile(st))
	if err != nil || s.State == supervisor.StateStopped || !supervisor.Alive(s.PID) {
		return clikit.Fail("ce up starts it", "ce up is not running for %s", st.Path())
	}
	if err := syscall.Kill(s.PID, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal ce up (pid %d): %w", s.PID, err)
	}
	fmt.Fprintf(env.Stdout, "reload requested (ce up, pid %d); ce status shows the pieces\n", s.PID)
	return nil
}

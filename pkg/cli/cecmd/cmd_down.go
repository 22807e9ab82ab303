package cecmd

import (
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/supervisor"
)

// DownCmd stops the platform.
type DownCmd struct {
	Timeout time.Duration `default:"30s" help:"How long to wait for ce up to exit."`
}

// Help is the long help of ce down.
func (c *DownCmd) Help() string {
	return "Sends SIGTERM to the ce up of this state directory and waits until it has stopped its pieces " +
		"(daemons first, the broker last) and exited. Sessions' tmux runs keep running. Nothing running is not an error."
}

// Run signals the supervisor and waits for it.
func (c *DownCmd) Run(env *clikit.Env) error {
	st, err := env.State()
	if err != nil {
		return err
	}
	lockPath := st.Lock("supervisor")
	if !lockfile.Held(lockPath) {
		env.Infof("not running")
		return nil
	}
	s, err := supervisor.ReadStatus(supervisor.StatusFile(st))
	if err != nil || !supervisor.Alive(s.PID) {
		return clikit.Fail("ce status shows what is known", "ce up holds %s but its pid is unknown (%s)", lockPath, lockfile.Holder(lockPath))
	}
	if err := syscall.Kill(s.PID, syscall.SIGTERM); err != nil {
		return clikit.Fail("", "signal ce up (pid %d): %v", s.PID, err)
	}
	deadline := time.Now().Add(c.Timeout)
	for lockfile.Held(lockPath) {
		if time.Now().After(deadline) {
			return clikit.Fail("ce status shows which piece is slow; kill the supervisor with SIGKILL as a last resort",
				"ce up (pid %d) still runs after %s", s.PID, c.Timeout)
		}
		select {
		case <-env.Ctx.Done():
			return env.Ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	env.Infof("stopped (pid %d)", s.PID)
	return nil
}

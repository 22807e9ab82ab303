package cecmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/daemon"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/cli/clikit"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/supervisor"
)

// UpCmd runs the platform.
type UpCmd struct {
	Detach  bool          `help:"Run in the background (output to logs/ce.log) and return once every piece is healthy."`
	Timeout time.Duration `default:"10s" help:"With --detach, how long to wait for the pieces to become healthy."`
}

// Help is the long help of ce up.
func (c *UpCmd) Help() string {
	return "Starts the broker (ce-bridge serve), waits until it answers, then the queue worker (ce-queue serve) " +
		"and, when enabled in config, ce-cron serve and ce-heartbeat serve. The vault agent (ce-vault serve) runs " +
		"only when vault is enabled and " + supervisor.PassphraseEnv + " names its passphrase file. Each piece runs " +
		"in its own process group with its output appended to logs/PIECE.out; a piece that dies is restarted after " +
		"100ms, doubling to 30s, and marked failed after 5 crashes within 60s. ce status reads the state from " +
		"supervisor.json. SIGTERM or SIGINT (ce down) stops the daemons, then the broker; each gets SIGTERM and " +
		"10s to exit before SIGKILL. Sessions' tmux runs are left running. One ce up runs per state directory."
}

// Run supervises until interrupted, or starts a detached supervisor.
func (c *UpCmd) Run(env *clikit.Env) error {
	cfg, err := env.Config()
	if err != nil {
		return err
	}
	st, err := env.State()
	if err != nil {
		return err
	}
	if c.Detach {
		return c.detach(env, st)
	}
	lockPath := st.Lock("supervisor")
	// A short wait, not a try: ce status and ce down probe the lock briefly.
	lock, err := lockfile.AcquireTimeout(lockPath, time.Second)
	if err != nil {
		return clikit.Fail("ce status shows it; ce down stops it", "ce up already runs for %s: %v", st.Path(), err)
	}
	defer lock.Unlock()
	pieces, skipped, err := supervisor.Platform(cfg, st, os.Getenv)
	if err != nil {
		return clikit.Fail("install the ce commands side by side, or put them on PATH", "%v", err)
	}
	log, closeLog, err := daemon.Logger(st, "ce", cfg.Log.Level, env.Stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	for _, s := range skipped {
		log.Warn().Msg("skipped " + s)
	}
	reload := make(chan []supervisor.Piece, 1)
	sup := &supervisor.Supervisor{
		Pieces:     pieces,
		Policy:     supervisor.DefaultPolicy,
		LogDir:     filepath.Dir(st.LogFile("ce")),
		StatusFile: supervisor.StatusFile(st),
		Logf:       func(format string, a ...any) { log.Warn().Msg(fmt.Sprintf(format, a...)) },
		Reload:     reload,
	}
	// SIGHUP (ce reload) re-reads the config; an invalid one is refused and
	// the running one kept.
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
			fresh, err := config.Load(path, explicit)
			if err != nil {
				log.Error().Err(err).Msg("reload refused; keeping the running config")
				continue
			}
			next, skipped, err := supervisor.Platform(fresh, st, os.Getenv)
			if err != nil {
				log.Error().Err(err).Msg("reload refused; keeping the running config")
				continue
			}
			for _, s := range skipped {
				log.Warn().Msg("skipped " + s)
			}
			log.Info().Int("pieces", len(next)).Msg("reloading")
			reload <- next
		}
	}()
	began := time.Now()
	go func() {
		for {
			if sup.Snapshot().State == supervisor.StateRunning {
				log.Info().Int("pieces", len(pieces)).Dur("took", time.Since(began)).Msg("platform up")
				return
			}
			select {
			case <-env.Ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	log.Info().Int("pid", os.Getpid()).Msg("supervisor starting")
	err = sup.Run(env.Ctx)
	log.Info().Msg("supervisor stopped")
	if err != nil && env.Ctx.Err() == nil {
		return clikit.Fail("ce logs bridge shows the broker's log", "%v", err)
	}
	return nil
}

// detach starts "ce up" again in a new session with its output in
// logs/ce.out and waits for ce status to be healthy.
func (c *UpCmd) detach(env *clikit.Env, st *statedir.Dir) error {
	if lockfile.Held(st.Lock("supervisor")) {
		return clikit.Fail("ce status shows it; ce down stops it", "ce up already runs for %s (%s)", st.Path(), lockfile.Holder(st.Lock("supervisor")))
	}
	self, err := selfPath()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(filepath.Dir(st.LogFile("ce")), "ce.out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	args := []string{"up", "--state-dir", st.Path()}
	if env.Globals.Config != "" {
		args = append(args, "--config", env.Globals.Config)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", self, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(env.Ctx, c.Timeout)
	defer cancel()
	for {
		if s, err := supervisor.ReadStatus(supervisor.StatusFile(st)); err == nil && s.PID == cmd.Process.Pid {
			if rep := check(env.Ctx, st, s); rep.healthy() {
				env.Infof("up (pid %d)", s.PID)
				return nil
			}
		}
		select {
		case err := <-exited:
			return clikit.Fail("ce logs ce shows why", "ce up exited at start: %v", err)
		case <-ctx.Done():
			return clikit.Fail("ce status shows which piece; ce logs PIECE shows why", "the platform was not healthy after %s; ce up still runs (pid %d)", c.Timeout, cmd.Process.Pid)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// selfPath is the running ce, as invoked, so that a detached copy is the
// same program (os.Executable resolves links that may name another one).
func selfPath() (string, error) {
	if filepath.Base(os.Args[0]) == os.Args[0] {
		return exec.LookPath(os.Args[0])
	}
	return filepath.Abs(os.Args[0])
}

// report is the health of each piece as seen from outside the supervisor.
type report struct {
	Running bool          `json:"running"`
	PID     int           `json:"pid,omitempty"`
	Started time.Time     `json:"started,omitzero"`
	Pieces  []pieceReport `json:"pieces"`
}

type pieceReport struct {
	supervisor.PieceStatus
	Healthy bool    `json:"healthy"`
	Uptime  float64 `json:"uptime_s,omitempty"`
}

func (r report) healthy() bool {
	if !r.Running || len(r.Pieces) == 0 {
		return false
	}
	for _, p := range r.Pieces {
		if !p.Healthy {
			return false
		}
	}
	return true
}

// check judges a status file: the supervisor must hold its lock, every
// piece's pid must be alive, and the broker must answer bridge.health.
func check(ctx context.Context, st *statedir.Dir, s *supervisor.Status) report {
	r := report{Running: s.State != supervisor.StateStopped && supervisor.Alive(s.PID) && lockfile.Held(st.Lock("supervisor"))}
	if r.Running {
		r.PID, r.Started = s.PID, s.Started
	}
	for _, p := range s.Pieces {
		if p.State == supervisor.StateDisabled {
			continue // turned off by a reload
		}
		pr := pieceReport{PieceStatus: p}
		if r.Running && p.State == supervisor.StateRunning && supervisor.Alive(p.PID) {
			pr.Healthy = true
			pr.Uptime = time.Since(p.Started).Truncate(time.Second).Seconds()
			// Each piece is asked over the broker: the broker itself, and
			// each daemon its <piece>.health (an extension that provides
			// none is judged by its process alone).
			method := bridge.HealthMethod(p.Name)
			if p.Name == "bridge" {
				method = "bridge.health"
			}
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			c := bridge.Dial(bridge.Socket(st))
			if err := c.Call(cctx, method, nil, nil); err != nil && !(!builtinPiece(p.Name) && bridge.IsNoProvider(err)) {
				pr.Healthy, pr.LastError = false, err.Error()
			}
			c.Close()
			cancel()
		}
		if !r.Running {
			pr.PID, pr.State = 0, supervisor.StateStopped
		}
		r.Pieces = append(r.Pieces, pr)
	}
	return r
}

// builtinPiece reports whether a piece is one of ce's own daemons, which
// all provide <piece>.health.
func builtinPiece(name string) bool {
	switch name {
	case "bridge", "queue", "cron", "heartbeat", "vault":
		return true
	}
	return false
}

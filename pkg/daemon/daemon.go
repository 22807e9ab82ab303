// Package daemon is the skeleton every ce daemon runs in (the queue worker,
// cron, the heartbeat, the vault agent, the broker, the Telegram frontend):
// one instance per state directory, held by a lock that names its holder;
// a log file logs/<name>.log (and human lines on a terminal); <name>.health
// on the broker; and SIGHUP re-reading the configuration, where a
// configuration that does not load is refused, logged, and the old one
// kept. The daemon's own loop lives in its package and gets a *Daemon.
//
// It is an implementation detail of ce; the health method and the lock
// names are described in ce(7).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Spec describes a daemon.
type Spec struct {
	// Name is the piece: its log is logs/<Name>.log and it provides
	// <Name>.health on the broker.
	Name string
	// What names it for people: "a queue worker".
	What string
	// Lock is the name of its single-instance lock under locks/.
	Lock string
	// Beside says what may run beside it, for the hint of a HeldError:
	// "ce-queue tick is safe alongside it".
	Beside string
	// NoHealth leaves <Name>.health out (the broker answers its own).
	NoHealth bool
	// Health adds fields to the health answer.
	Health func() map[string]any
	// Restart makes a reload stop the loop and start it again with the
	// new configuration; otherwise new configurations arrive on
	// Daemon.Reload.
	Restart bool
}

// Daemon is what a daemon's loop gets.
type Daemon struct {
	Spec
	State *statedir.Dir
	// Config is the configuration the loop (re)started with.
	Config *config.Config
	Log    zerolog.Logger
	// Reload receives each configuration a SIGHUP loaded (unless
	// Spec.Restart).
	Reload <-chan *config.Config
	// Bridge is a client of the broker, shared by the loop and health.
	Bridge *bridge.Client
}

// Input is what a command hands the skeleton.
type Input struct {
	State  *statedir.Dir
	Config *config.Config
	// ConfigFlag is the --config value, for reloading from the same file.
	ConfigFlag string
	// Stderr gets human log lines when it is a terminal.
	Stderr io.Writer
}

// HeldError means the daemon already runs for the state directory.
type HeldError struct {
	What, Holder, Beside string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s already serves this state directory (%s)", e.What, e.Holder)
}

// Hint says how to go on.
func (e *HeldError) Hint() string {
	if e.Beside != "" {
		return "stop it first; " + e.Beside
	}
	return "stop it first, or ce status shows what runs"
}

// Run runs serve as the daemon spec describes until ctx is done (SIGINT or
// SIGTERM), and returns serve's error; a daemon that already runs is a
// *HeldError.
func Run(ctx context.Context, spec Spec, in Input, serve func(ctx context.Context, d *Daemon) error) error {
	lockPath := in.State.Lock(spec.Lock)
	lk, err := lockfile.TryLockFor(lockPath, 100*time.Millisecond)
	if errors.Is(err, lockfile.ErrBusy) {
		return &HeldError{What: spec.What, Holder: lockfile.Holder(lockPath), Beside: spec.Beside}
	}
	if err != nil {
		return err
	}
	defer lk.Unlock()
	log, closeLog, err := Logger(in.State, spec.Name, in.Config.Log.Level, in.Stderr)
	if err != nil {
		return fmt.Errorf("open the log: %w", err)
	}
	defer closeLog()
	log = log.With().Int("pid", os.Getpid()).Logger()

	bc := bridge.Dial(bridge.Socket(in.State))
	defer bc.Close()
	if !spec.NoHealth {
		go bc.ProvideHealth(ctx, spec.Name, spec.Health)
	}
	reloads := make(chan *config.Config, 1)
	go watchHUP(ctx, in.ConfigFlag, log, reloads)

	d := &Daemon{Spec: spec, State: in.State, Config: in.Config, Log: log, Bridge: bc, Reload: reloads}
	if !spec.Restart {
		err = serve(ctx, d)
		logEnd(log, err)
		return err
	}
	for {
		lctx, cancel := context.WithCancel(ctx)
		next := make(chan *config.Config, 1)
		go func() {
			select {
			case cfg := <-reloads:
				next <- cfg
				cancel()
			case <-lctx.Done():
			}
		}()
		d.Reload = nil
		err = serve(lctx, d)
		cancel()
		if err != nil || ctx.Err() != nil {
			logEnd(log, err)
			return err
		}
		select {
		case d.Config = <-next:
			log.Info().Str("config", d.Config.Source()).Msg("restarting with the reloaded configuration")
		default:
			logEnd(log, nil)
			return nil
		}
	}
}

func logEnd(log zerolog.Logger, err error) {
	if err != nil {
		log.Error().Err(err).Msg("stopped")
		return
	}
	log.Info().Msg("stopped")
}

// watchHUP loads the configuration on each SIGHUP and hands on the ones
// that load.
func watchHUP(ctx context.Context, flag string, log zerolog.Logger, out chan *config.Config) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		path, explicit := config.Path(flag)
		cfg, err := config.Load(path, explicit)
		if err != nil {
			log.Error().Err(err).Msg("SIGHUP: the configuration does not load; keeping the old one")
			continue
		}
		log.Info().Str("config", cfg.Source()).Msg("SIGHUP: configuration reloaded")
		select {
		case <-out: // an older one not taken yet: the newest wins
		default:
		}
		out <- cfg
	}
}

// Logger returns a logger writing JSON lines to logs/<name>.log and, when
// stderr is a terminal, human lines there too.
func Logger(st *statedir.Dir, name, level string, stderr io.Writer) (zerolog.Logger, func(), error) {
	f, err := os.OpenFile(st.LogFile(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return zerolog.Nop(), func() {}, err
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var w io.Writer = f
	if sf, ok := stderr.(*os.File); ok && isatty.IsTerminal(sf.Fd()) {
		w = zerolog.MultiLevelWriter(f, zerolog.ConsoleWriter{Out: sf, TimeFormat: "15:04:05"})
	}
	log := zerolog.New(w).Level(lvl).With().Timestamp().Str("daemon", name).Logger()
	return log, func() { f.Close() }, nil
}

package supervisor

import (
	"context"
	"fmt"

	"github.com/ce-platform/ce/pkg/binpath"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/extmanifest"
	"github.com/ce-platform/ce/pkg/statedir"
)

// PassphraseEnv names the file the vault agent reads its passphrase from.
// ce up starts the agent only when vault is enabled and this is set: an
// agent without a passphrase source would wait on a terminal it has not got.
const PassphraseEnv = "CE_VAULT_PASSPHRASE_FILE"

// Platform lists the pieces ce up runs for cfg, in start order: the broker
// (ready when it answers bridge.health), the queue worker, then cron,
// heartbeat and the vault agent when enabled. skipped says why an enabled
// piece is left out. getenv is os.Getenv outside tests.
func Platform(cfg *config.Config, st *statedir.Dir, getenv func(string) string) (pieces []Piece, skipped []string, err error) {
	add := func(name string, args ...string) error {
		path, err := binpath.Find("ce-" + name)
		if err != nil {
			return err
		}
		pieces = append(pieces, Piece{Name: name, Path: path, Args: args})
		return nil
	}
	if err := add("bridge", "serve"); err != nil {
		return nil, nil, err
	}
	sock := bridge.Socket(st)
	pieces[0].Ready = func(ctx context.Context) error {
		c := bridge.Dial(sock)
		defer c.Close()
		return c.Call(ctx, "bridge.health", nil, nil)
	}
	if err := add("queue", "serve"); err != nil {
		return nil, nil, err
	}
	for _, name := range []string{"cron", "heartbeat"} {
		if cfg.Enabled.Has(name) {
			if err := add(name, "serve"); err != nil {
				return nil, nil, err
			}
		}
	}
	// Third-party extensions with a daemon: ce-ext-NAME on PATH.
	for _, name := range cfg.Enabled {
		switch name {
		case "ask", "sessions", "vault", "memory", "cron", "heartbeat", "agents", "telegram", "echo":
			continue
		}
		m, err := extmanifest.Load(context.Background(), name)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if len(m.Daemon) > 0 {
			pieces = append(pieces, Piece{Name: name, Path: m.Daemon[0], Args: m.Daemon[1:]})
		}
	}
	if cfg.Enabled.Has("vault") {
		if getenv(PassphraseEnv) == "" {
			skipped = append(skipped, "vault: the agent needs "+PassphraseEnv+"; ce-vault asks for the passphrase itself without it")
		} else if err := add("vault", "serve"); err != nil {
			return nil, nil, err
		}
	}
	return pieces, skipped, nil
}

// Package poller receives Telegram updates with its own getUpdates loop
// and loses none across crashes and restarts.
//
// Each batch getUpdates returns is appended to a journal file in the
// poller's directory and fsynced before the next getUpdates, whose offset
// confirms the batch to Telegram, is sent. Each update is then handed to
// the handler, in update_id order, and marked handled in the journal after
// the handler returns. On start the poller hands over the updates
// journaled but not marked first; it never asks for offset -1 and never
// drops pending updates. Delivery is at least once: an update whose
// handler ran but whose mark did not reach the disk (a crash in between)
// is handed over again after the restart, with the same update_id, so
// handlers should make repeated delivery harmless, for instance by
// remembering the update_id of the prompt they queued.
//
// A 409 (another poller with the same token) is retried after a backoff
// that starts at a second and stops growing at a few; the loop never gives
// up on it. A 429 waits the full retry_after. Network errors and 5xx back
// off. Only a refused token (401, 404) or a journal that cannot be written
// ends Run. The journal is compacted so it holds little more than the
// updates not yet handled.
//
// With github.com/go-telegram/bot, decode each update with
// botapi.DecodeUpdate and pass it to Bot.ProcessUpdate on a bot built with
// bot.WithNotAsyncHandlers, so the handler has finished when the update is
// marked.
//
// This package is implementation inside ce; other programs should not rely
// on the journal's format.
package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/ce-platform/ce/pkg/telegram/botapi"
)

// Update is one update as getUpdates returned it.
type Update struct {
	ID  int64           // update_id
	Raw json.RawMessage // the whole update as getUpdates returned it (compacted after a restart)
}

// Handler acts on an update. When it returns, the update counts as
// handled, whatever the error (which is logged): a bad update must not
// stall the bot. Returning because ctx ended leaves the update to be
// handed over again after a restart.
type Handler func(ctx context.Context, u Update) error

// Fetcher calls getUpdates; *botapi.Client is one.
type Fetcher interface {
	GetUpdates(ctx context.Context, r botapi.UpdatesRequest) ([]json.RawMessage, error)
}

// Backoff is a doubling wait between failed attempts.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

func (b Backoff) next(d time.Duration) time.Duration {
	if d == 0 {
		return b.Initial
	}
	return min(2*d, b.Max)
}

// Config configures a Poller.
type Config struct {
	Dir            string // the journal's directory, created 0700 if missing
	Fetcher        Fetcher
	Handler        Handler
	Timeout        time.Duration // long poll, 50s when 0
	Limit          int           // updates per getUpdates, 100 when 0
	AllowedUpdates []string
	Logger         zerolog.Logger

	ConflictBackoff Backoff // after a 409: 1s doubling to 5s by default
	ErrorBackoff    Backoff // after a network error or 5xx: 1s doubling to 30s by default
	// Sleep waits between attempts; tests replace it. A real timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// CompactAfter is the number of journal records that triggers a
	// compaction, 1000 when 0.
	CompactAfter int
}

// Poller is a crash-safe getUpdates loop over one journal directory, which
// it holds locked from Open to Close.
type Poller struct {
	cfg Config
	log zerolog.Logger
	j   *journal

	// Tests simulate a crash at these points by cancelling the context.
	afterJournal func()
	beforeMark   func(id int64)
}

// Open locks the journal directory and reads the journal.
func Open(cfg Config) (*Poller, error) {
	if cfg.Dir == "" || cfg.Fetcher == nil || cfg.Handler == nil {
		return nil, errors.New("poller needs a directory, a fetcher and a handler")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 50 * time.Second
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 100
	}
	if cfg.ConflictBackoff.Initial <= 0 {
		cfg.ConflictBackoff = Backoff{Initial: time.Second, Max: 5 * time.Second}
	}
	if cfg.ErrorBackoff.Initial <= 0 {
		cfg.ErrorBackoff = Backoff{Initial: time.Second, Max: 30 * time.Second}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.CompactAfter <= 0 {
		cfg.CompactAfter = 1000
	}
	j, err := openJournal(cfg.Dir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	p := &Poller{cfg: cfg, log: cfg.Logger, j: j}
	if j.records > len(j.pending)+1 {
		if err := j.compact(); err != nil {
			j.close()
			return nil, err
		}
	}
	return p, nil
}

// Close releases the journal.
func (p *Poller) Close() error { return p.j.close() }

// Pending returns the journaled updates not yet handled, oldest first.
func (p *Poller) Pending() []Update { return p.j.pendingUpdates() }

// Offset is the offset of the next getUpdates: one past the highest
// update_id received, 0 before the first.
func (p *Poller) Offset() int64 { return p.j.next }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run hands over the pending updates, then polls until ctx ends (it then
// returns ctx's error), the token is refused, or the journal cannot be
// written.
func (p *Poller) Run(ctx context.Context) error {
	var conflictWait, errorWait time.Duration
	for {
		if err := p.handlePending(ctx); err != nil {
			return err
		}
		if p.j.records >= p.cfg.CompactAfter {
			if err := p.j.compact(); err != nil {
				return err
			}
		}
		raw, err := p.cfg.Fetcher.GetUpdates(ctx, botapi.UpdatesRequest{
			Offset: p.j.next, Limit: p.cfg.Limit, Timeout: p.cfg.Timeout, AllowedUpdates: p.cfg.AllowedUpdates,
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var wait time.Duration
			switch botapi.KindOf(err) {
			case botapi.Unauthorized:
				return fmt.Errorf("telegram refused the bot token: %w", err)
			case botapi.Conflict:
				conflictWait = p.cfg.ConflictBackoff.next(conflictWait)
				wait = conflictWait
				p.log.Warn().Err(err).Dur("retry_in", wait).Msg("another getUpdates is running for this bot")
			case botapi.RetryAfter:
				wait, _ = botapi.RetryAfterOf(err)
				p.log.Warn().Dur("retry_after", wait).Msg("getUpdates flood limit")
			default:
				errorWait = p.cfg.ErrorBackoff.next(errorWait)
				wait = errorWait
				p.log.Warn().Err(err).Dur("retry_in", wait).Msg("getUpdates failed")
			}
			if err := p.cfg.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		conflictWait, errorWait = 0, 0
		if err := p.journal(raw); err != nil {
			return err
		}
		if p.afterJournal != nil {
			p.afterJournal()
		}
	}
}

// journal records a batch, leaving out updates already received and any
// whose update_id cannot be read.
func (p *Poller) journal(raw []json.RawMessage) error {
	var batch []Update
	next := p.j.next
	for _, r := range raw {
		var head struct {
			ID int64 `json:"update_id"`
		}
		if err := json.Unmarshal(r, &head); err != nil || head.ID <= 0 {
			p.log.Error().Str("update", string(r)).Msg("update without a readable update_id, skipping it")
			continue
		}
		if head.ID < next {
			continue
		}
		next = head.ID + 1
		batch = append(batch, Update{ID: head.ID, Raw: r})
	}
	if len(batch) == 0 {
		return nil
	}
	return p.j.received(batch)
}

// handlePending hands each pending update to the handler and marks it.
func (p *Poller) handlePending(ctx context.Context) error {
	for _, u := range p.j.pendingUpdates() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := p.cfg.Handler(ctx, u)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			p.log.Error().Err(err).Int64("update_id", u.ID).Msg("update handler failed")
		}
		if p.beforeMark != nil {
			p.beforeMark(u.ID)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err := p.j.handled(u.ID); err != nil {
			return err
		}
	}
	return ctx.Err()
}

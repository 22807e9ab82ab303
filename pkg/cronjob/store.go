package cronjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
	"github.com/tidwall/buntdb"
)

// Keys of cron.db: "j:<name>" jobs, "f:<seq>" intents (fires not yet
// recorded), "gc:<session>" fresh sessions to remove after their run,
// "meta:seq" the counter of fires and fresh sessions.
const (
	jobPrefix     = "j:"
	firePrefix    = "f:"
	cleanupPrefix = "gc:"
	seqKey        = "meta:seq"
)

// errNoChange rolls back a transaction that changed nothing, so that a
// tick with nothing to do writes nothing.
var errNoChange = errors.New("no change")

// DBFile is the store's file name in the state directory.
const DBFile = "cron.db"

// Store is the job store, <state>/cron.db.
type Store struct {
	st       *store.Store
	fireLock string
}

// Open returns the job store of a state directory.
func Open(d *statedir.Dir) *Store {
	return &Store{st: store.New(d.Path(DBFile), d.Lock("cron")), fireLock: d.Lock("cron-fire")}
}

// Store returns the underlying store, for hooks such as OnCorrupt.
func (s *Store) Store() *store.Store { return s.st }

func (s *Store) update(ctx context.Context, fn func(tx *buntdb.Tx) error) error {
	err := s.st.Update(ctx, fn)
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

func putJSON(tx *buntdb.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, _, err = tx.Set(key, string(b), nil)
	return err
}

func getJob(tx *buntdb.Tx, name string) (Job, error) {
	var j Job
	v, err := tx.Get(jobPrefix + name)
	if errors.Is(err, buntdb.ErrNotFound) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, err
	}
	err = json.Unmarshal([]byte(v), &j)
	return j, err
}

func putJob(tx *buntdb.Tx, j Job) error { return putJSON(tx, jobPrefix+j.Name, j) }

// scanAll decodes every record under prefix into a fresh T.
func scanAll[T any](tx *buntdb.Tx, prefix string) ([]T, error) {
	var out []T
	var err error
	tx.AscendKeys(prefix+"*", func(k, v string) bool {
		var x T
		if e := json.Unmarshal([]byte(v), &x); e != nil {
			err = fmt.Errorf("cron.db record %s: %w", k, e)
			return false
		}
		out = append(out, x)
		return true
	})
	return out, err
}

func nextSeq(tx *buntdb.Tx) (uint64, error) {
	n := uint64(0)
	if v, err := tx.Get(seqKey); err == nil {
		n, _ = strconv.ParseUint(v, 10, 64)
	}
	n++
	_, _, err := tx.Set(seqKey, strconv.FormatUint(n, 10), nil)
	return n, err
}

func fireKey(id string) string {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "f"), 10, 64)
	return fmt.Sprintf("%s%012d", firePrefix, n)
}

// newFire writes the intent of firing j for due.
func newFire(tx *buntdb.Tx, j Job, due, now time.Time, manual bool) (Fire, error) {
	n, err := nextSeq(tx)
	if err != nil {
		return Fire{}, err
	}
	f := Fire{ID: "f" + strconv.FormatUint(n, 10), Job: j.Name, Due: due.UTC(), Manual: manual, Prompt: j.Prompt, Target: j.Target, Written: now.UTC()}
	if f.New {
		f.Session = fmt.Sprintf("cron-%s-%d", j.Name, n)
	}
	return f, putJSON(tx, fireKey(f.ID), f)
}

// Get returns one job.
func (s *Store) Get(ctx context.Context, name string) (Job, error) {
	var j Job
	err := s.st.View(ctx, func(tx *buntdb.Tx) error {
		var err error
		j, err = getJob(tx, name)
		return err
	})
	return j, err
}

// Snapshot is the whole store at one moment.
type Snapshot struct {
	Jobs     []Job
	Pending  []Fire
	Cleanups []Cleanup
}

// PendingFor returns the intents of one job.
func (s Snapshot) PendingFor(job string) []Fire {
	var out []Fire
	for _, f := range s.Pending {
		if f.Job == job {
			out = append(out, f)
		}
	}
	return out
}

func snapshot(tx *buntdb.Tx) (Snapshot, error) {
	var sn Snapshot
	var err error
	if sn.Jobs, err = scanAll[Job](tx, jobPrefix); err != nil {
		return sn, err
	}
	if sn.Pending, err = scanAll[Fire](tx, firePrefix); err != nil {
		return sn, err
	}
	sn.Cleanups, err = scanAll[Cleanup](tx, cleanupPrefix)
	return sn, err
}

// List returns every job by name, the pending intents and cleanups. With
// cfg, the config jobs are brought in step with it first (see Sync).
func (s *Store) List(ctx context.Context, cfg *config.Cron, now time.Time) (Snapshot, []string, error) {
	var sn Snapshot
	var warnings []string
	read := func(tx *buntdb.Tx) error {
		var err error
		sn, err = snapshot(tx)
		return err
	}
	var err error
	if cfg == nil {
		err = s.st.View(ctx, read)
	} else {
		err = s.update(ctx, func(tx *buntdb.Tx) error {
			changed, w, err := syncConfig(tx, cfg, now)
			warnings = w
			if err != nil {
				return err
			}
			if err := read(tx); err != nil {
				return err
			}
			if !changed {
				return errNoChange
			}
			return nil
		})
	}
	sort.Slice(sn.Jobs, func(a, b int) bool { return sn.Jobs[a].Name < sn.Jobs[b].Name })
	return sn, warnings, err
}

// Add stores new jobs, all or none; no job of their names may exist.
func (s *Store) Add(ctx context.Context, jobs ...Job) error {
	return s.st.Update(ctx, func(tx *buntdb.Tx) error {
		for _, j := range jobs {
			if old, err := getJob(tx, j.Name); err == nil {
				return &ExistsError{Name: j.Name, Source: old.Source}
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := putJob(tx, j); err != nil {
				return err
			}
		}
		return nil
	})
}

// Remove deletes a job after allow (if set) accepted it. Intents of the job
// already written still complete.
func (s *Store) Remove(ctx context.Context, name string, allow func(Job) error) (Job, error) {
	var j Job
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		var err error
		if j, err = getJob(tx, name); err != nil {
			return err
		}
		if allow != nil {
			if err := allow(j); err != nil {
				return err
			}
		}
		_, err = tx.Delete(jobPrefix + name)
		return err
	})
	return j, err
}

// SetPaused pauses or resumes a job. A resumed job starts over at now: the
// due times it missed while paused do not fire.
func (s *Store) SetPaused(ctx context.Context, name string, paused bool, now time.Time) (Job, error) {
	var j Job
	err := s.st.Update(ctx, func(tx *buntdb.Tx) error {
		var err error
		if j, err = getJob(tx, name); err != nil {
			return err
		}
		if j.Paused == paused {
			return nil
		}
		j.Paused = paused
		if !paused && !j.OneShot() {
			loc, err := j.Location()
			if err != nil {
				return err
			}
			j.Anchor = now.UTC()
			next, err := nextAfter(j.Cron, now, loc)
			if err != nil {
				next = time.Time{}
			}
			j.Next = next.UTC()
		}
		return putJob(tx, j)
	})
	return j, err
}

// syncConfig brings the config jobs in step with cfg: new ones are added
// (their schedule starts at now), changed ones redefined (keeping their
// history, and their schedule position when the schedule is unchanged),
// and those no longer in cfg removed. A config job takes the place of a
// job of another source with the same name.
func syncConfig(tx *buntdb.Tx, cfg *config.Cron, now time.Time) (changed bool, warnings []string, err error) {
	names := make([]string, 0, len(cfg.Jobs))
	for n := range cfg.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		cj := cfg.Jobs[name]
		old, gerr := getJob(tx, name)
		if gerr != nil && !errors.Is(gerr, ErrNotFound) {
			return changed, warnings, gerr
		}
		exists := gerr == nil
		if exists && old.Source == SourceConfig && old.Def == definition(cj) {
			continue
		}
		j, jerr := fromConfig(name, cj, now)
		if jerr != nil {
			warnings = append(warnings, fmt.Sprintf("config job %s: %v", name, jerr))
			continue
		}
		switch {
		case exists && old.Source == SourceConfig:
			j.Created, j.Runs, j.LastRun, j.Last, j.Paused = old.Created, old.Runs, old.LastRun, old.Last, old.Paused
			if old.Cron == j.Cron && old.At.Equal(j.At) && old.TZ == j.TZ {
				j.Anchor, j.Next, j.Done = old.Anchor, old.Next, old.Done
			}
		case exists:
			warnings = append(warnings, fmt.Sprintf("config job %s takes the place of the job of that name from %s", name, old.Source))
		}
		if err := putJob(tx, j); err != nil {
			return changed, warnings, err
		}
		changed = true
	}
	var gone []string
	tx.AscendKeys(jobPrefix+"*", func(k, v string) bool {
		if _, ok := cfg.Jobs[strings.TrimPrefix(k, jobPrefix)]; ok || !strings.Contains(v, `"source":"config"`) {
			return true // the cheap test spares decoding every job
		}
		var j Job
		if json.Unmarshal([]byte(v), &j) == nil && j.Source == SourceConfig {
			gone = append(gone, k)
		}
		return true
	})
	for _, k := range gone {
		if _, err := tx.Delete(k); err != nil {
			return changed, warnings, err
		}
		changed = true
	}
	return changed, warnings, nil
}

// Upcoming is one future fire.
type Upcoming struct {
	Job  string    `json:"job"`
	Time time.Time `json:"time"`
}

// Upcoming returns the next n fires of the jobs, soonest first, without
// changing anything. Paused jobs are left out.
func (sn Snapshot) Upcoming(now time.Time, n int) []Upcoming {
	var out []Upcoming
	for _, j := range sn.Jobs {
		if j.Paused || j.Done || j.Next.IsZero() {
			continue
		}
		loc, err := j.Location()
		if err != nil {
			continue
		}
		t := j.Next
		for i := 0; i < n && !t.IsZero(); i++ {
			out = append(out, Upcoming{Job: j.Name, Time: t})
			if j.OneShot() {
				break
			}
			next, err := nextAfter(j.Cron, t, loc)
			if err != nil {
				break
			}
			t = next.UTC()
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Time.Equal(out[b].Time) {
			return out[a].Time.Before(out[b].Time)
		}
		return out[a].Job < out[b].Job
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

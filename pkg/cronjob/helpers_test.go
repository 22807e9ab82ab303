package cronjob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	_ "time/tzdata" // zones in tests do not depend on the machine

	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/fakeclock"
	"github.com/ce-platform/ce/pkg/testkit/statetest"
)

// The test binary doubles as a scheduler process for the tests that need
// several processes, or one that dies at a given step.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CRONJOB_TEST_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child runs a scheduler in this process: "kill-after-intent" and
// "kill-after-push" tick once at CRONJOB_TEST_NOW and SIGKILL themselves
// at that step; "ticks" ticks at each of CRONJOB_TEST_NOWS (Unix seconds).
func child(mode string) int {
	st, err := statedir.Open(os.Getenv("CRONJOB_TEST_STATE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	clk := fakeclock.New(time.Time{})
	s := &Scheduler{Store: Open(st), Pusher: newQueuePusher(st), Now: clk.Now}
	die := func() { syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	ctx := context.Background()
	switch mode {
	case "kill-after-intent", "kill-after-push":
		clk.Set(unix(os.Getenv("CRONJOB_TEST_NOW")))
		if mode == "kill-after-intent" {
			s.afterIntent = die
		} else {
			s.afterPush = die
		}
		_, err = s.Tick(ctx)
	case "ticks":
		for _, n := range strings.Fields(os.Getenv("CRONJOB_TEST_NOWS")) {
			clk.Set(unix(n))
			if _, err = s.Tick(ctx); err != nil {
				break
			}
		}
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func unix(s string) time.Time {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(n, 0)
}

// queuePusher delivers fires into a real queue, as ce-cron does, without
// sessions or tmux.
type queuePusher struct {
	q *queue.Queue

	mu      sync.Mutex
	removed []string
	fail    error // returned by Push when set
	pushes  int
}

func newQueuePusher(st *statedir.Dir) *queuePusher { return &queuePusher{q: queue.Open(st)} }

func (p *queuePusher) Push(ctx context.Context, f Fire) (string, error) {
	p.mu.Lock()
	fail := p.fail
	p.pushes++
	p.mu.Unlock()
	if fail != nil {
		return "", fail
	}
	it, err := p.q.Push(ctx, f.Session, f.Prompt, f.Source())
	return it.ID, err
}

func (p *queuePusher) Find(ctx context.Context, f Fire) (string, error) {
	items, err := p.q.List(ctx, queue.Filter{Session: f.Session})
	for _, it := range items {
		if it.Source == f.Source() {
			return it.ID, err
		}
	}
	return "", err
}

func (p *queuePusher) States(ctx context.Context, ids []string) (map[string]string, error) {
	items, err := p.q.List(ctx, queue.Filter{})
	m := map[string]string{}
	for _, it := range items {
		m[it.ID] = it.State
	}
	return m, err
}

func (p *queuePusher) RemoveSession(ctx context.Context, c Cleanup) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, c.Session)
	return nil
}

// env is a state directory with a scheduler on a fake clock.
type env struct {
	t   *testing.T
	st  *statedir.Dir
	clk *fakeclock.Clock
	p   *queuePusher
	s   *Scheduler
}

func newEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	st := statetest.New(t)
	clk := fakeclock.New(now)
	p := newQueuePusher(st)
	return &env{t: t, st: st, clk: clk, p: p, s: &Scheduler{Store: Open(st), Pusher: p, Now: clk.Now}}
}

// scheduler returns another scheduler on the same state and clock, as a
// second process would have.
func (e *env) scheduler() *Scheduler {
	return &Scheduler{Store: Open(e.st), Pusher: newQueuePusher(e.st), Now: e.clk.Now, Config: e.s.Config}
}

func (e *env) add(s Spec) Job {
	e.t.Helper()
	if s.Source == "" {
		s.Source = SourceCLI
	}
	if s.Session == "" && !s.New {
		s.Session = "main"
	}
	if s.Prompt == "" {
		s.Prompt = "run " + s.Name
	}
	j, err := s.Job(e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Store.Add(context.Background(), j); err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) tick() Report {
	e.t.Helper()
	rep, err := e.s.Tick(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) job(name string) Job {
	e.t.Helper()
	j, err := e.s.Store.Get(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) gone(name string) bool {
	_, err := e.s.Store.Get(context.Background(), name)
	return errors.Is(err, ErrNotFound)
}

// items returns the queue items of a job, oldest first.
func (e *env) items(job string) []queue.Item {
	e.t.Helper()
	all, err := e.p.q.List(context.Background(), queue.Filter{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []queue.Item
	for _, it := range all {
		if strings.HasPrefix(it.Source, "cron:"+job+"/") {
			out = append(out, it)
		}
	}
	return out
}

func (e *env) pending() []Fire {
	e.t.Helper()
	sn, _, err := e.s.Store.List(context.Background(), nil, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return sn.Pending
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

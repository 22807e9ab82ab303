package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/supervisor"
	"github.com/ce-platform/ce/pkg/testkit/benchbin"
	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/claudetest"
	"github.com/ce-platform/ce/pkg/testkit/instantagent"
	"github.com/rs/zerolog"
)

// binDir holds ce's binaries and the instant agent, built once.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(benchbin.Main(m, &binDir, "cmd/ce", "cmd/ce-session", "cmd/ce-queue", "cmd/ce-mcp", "cmd/ce-bridge", "cmd/ce-cron", "cmd/ce-heartbeat", "internal/tools/instant-agent"))
}

// platform is one state directory with its config and environment, whose
// daemons are stopped with SIGINT and whose tmux server is killed when the
// benchmark ends.
type platform struct{ *benchbin.Platform }

func newPlatform(tb testing.TB, config string, extraEnv ...string) *platform {
	tb.Helper()
	p := benchbin.NewPlatform(tb, binDir, config, extraEnv...)
	p.Stop = os.Interrupt
	tb.Cleanup(func() {
		exec.Command("tmux", "-S", filepath.Join(p.State, "tmux.sock"), "kill-server").Run()
	})
	return &platform{p}
}

func instantConfig(keepWarm string) string {
	return fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\nsessions:\n  keep_warm: %s\n", filepath.Join(binDir, "instant-agent"), keepWarm)
}

// timeSends runs n sends and reports p50 and p90.
func timeSends(b *testing.B, p *platform, name string, n int) {
	lat := benchmetric.Latencies(n, func(i int) {
		if out := p.Run("ce-session", "send", name, fmt.Sprintf("prompt %d", i)); !strings.Contains(out, fmt.Sprintf("prompt %d", i)) {
			b.Fatalf("send %d printed %q", i, out)
		}
	})
	benchmetric.ReportPercentiles(b, lat, 50, 90)
}

// BenchmarkSendInstant: ce-session send end to end with the instant agent
// (warm, the default), so ce's own cost is what is measured.
func BenchmarkSendInstant(b *testing.B) {
	p := newPlatform(b, instantConfig("10m"))
	p.Run("ce-session", "new", "s")
	p.Run("ce-session", "send", "s", "warm up")
	b.ResetTimer()
	timeSends(b, p, "s", 50*b.N)
}

// BenchmarkSendHistory100k: the same, with 100,000 finished prompts in the
// queue's history: a send must cost what it costs with none.
func BenchmarkSendHistory100k(b *testing.B) {
	p := newPlatform(b, instantConfig("10m"))
	p.Run("ce-session", "new", "s")
	p.Run("ce-session", "send", "s", "warm up")
	writeHistory(b, p.State, 100_000)
	b.ResetTimer()
	timeSends(b, p, "s", 50*b.N)
}

// writeHistory appends n finished items to the queue's history, as the
// queue writes them (one JSON item per line, in the current week's file).
func writeHistory(b *testing.B, state string, n int) {
	dir := filepath.Join(state, "history")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	y, w := time.Now().UTC().ISOWeek()
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("queue-%04d-w%02d.jsonl", y, w)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	now := time.Now().UTC()
	enc := json.NewEncoder(f)
	for i := 0; i < n; i++ {
		it := queue.Item{ID: fmt.Sprintf("q%d", 1_000_000+i), Session: "s", Prompt: fmt.Sprintf("an old prompt %d", i), Source: "cli",
			State: queue.Done, Attempts: 1, Created: now, Started: now, Finished: now, Retired: now, Result: "an old answer", CostUSD: 0.0001}
		if err := enc.Encode(it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendInstantCold: the same with one agent process per prompt.
func BenchmarkSendInstantCold(b *testing.B) {
	p := newPlatform(b, instantConfig("0s"))
	p.Run("ce-session", "new", "s")
	b.ResetTimer()
	timeSends(b, p, "s", 30*b.N)
}

// claudeSends times n sends to a session of the real claude against the
// fake API, after a first one, with keep_warm set to keepWarm.
func claudeSends(b *testing.B, keepWarm string, n int) {
	claude, api := claudetest.Start(b)
	home := b.TempDir()
	cfg := fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\nsessions:\n  keep_warm: %s\n", claude, keepWarm)
	p := newPlatform(b, cfg, claudebin.Env(home, api.URL())...)
	p.Run("ce-session", "new", "s")
	p.Run("ce-session", "send", "s", "first")
	b.ResetTimer()
	timeSends(b, p, "s", n)
}

// BenchmarkClaudeWarm: a later prompt to a warm session, real claude and
// the fake API.
func BenchmarkClaudeWarm(b *testing.B) { claudeSends(b, "10m", 10*b.N) }

// BenchmarkClaudeCold: the same prompt with a cold start each time.
func BenchmarkClaudeCold(b *testing.B) { claudeSends(b, "0s", 5*b.N) }

// BenchmarkFollowLatency: a line the agent prints reaches a follower in
// another process (through the runner, as for send and tail -f). The
// instant agent stamps each event with the time it printed it.
func BenchmarkFollowLatency(b *testing.B) {
	p := newPlatform(b, fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\n  env:\n    %s: \"1\"\n",
		filepath.Join(binDir, "instant-agent"), instantagent.StampEnv))
	p.Run("ce-session", "new", "f")
	p.Start("ce-queue", "serve")
	st := p.StateDir()
	cfg := config.Default()
	d := dispatch.New(st, cfg, "", zerolog.Nop())
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < 100*b.N; i++ {
		it, err := d.Queue.Push(context.Background(), "f", fmt.Sprintf("line %d", i), "bench")
		if err != nil {
			b.Fatal(err)
		}
		var run string
		for run == "" {
			got, _ := d.Queue.Get(context.Background(), it.ID)
			run = got.Run
			time.Sleep(100 * time.Microsecond)
		}
		_, err = d.FollowRun(context.Background(), "f", run, func(l []byte) error {
			var ev struct {
				NS int64 `json:"emitted_unix_ns"`
			}
			if json.Unmarshal(l, &ev) == nil && ev.NS > 0 {
				lat = append(lat, time.Since(time.Unix(0, ev.NS)))
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(lat) == 0 {
		b.Fatal("no stamped lines")
	}
	benchmetric.ReportPercentiles(b, lat, 50, 99)
}

// BenchmarkLsCold100: a cold ce-session ls with 100 sessions.
func BenchmarkLsCold100(b *testing.B) {
	p := newPlatform(b, instantConfig("0s"))
	st := p.StateDir()
	ss := session.Open(st)
	for i := 0; i < 100; i++ {
		if _, err := ss.Create(context.Background(), session.Record{Name: fmt.Sprintf("s%03d", i), User: fmt.Sprintf("u%d", i), Dir: p.Dir, Status: session.Idle}, 5); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	lat := benchmetric.Latencies(20*b.N, func(int) {
		if n := strings.Count(p.Run("ce-session", "ls"), "\n"); n != 101 {
			b.Fatalf("ls printed %d lines", n)
		}
	})
	benchmetric.ReportPercentiles(b, lat, 50)
}

// BenchmarkThroughput: 200 prompts over 20 sessions through the worker
// and tmux, instant agent: all complete, none lost.
func BenchmarkThroughput(b *testing.B) { throughput(b, 20, 200) }

// BenchmarkThroughput1000: 1000 prompts over 50 sessions.
func BenchmarkThroughput1000(b *testing.B) { throughput(b, 50, 1000) }

func throughput(b *testing.B, sessions, prompts int) {
	p := newPlatform(b, instantConfig("10m")+fmt.Sprintf("  max_per_user: %d\n  max_warm: %d\nqueue:\n  max_parallel: %d\n", sessions, sessions, sessions))
	for i := 0; i < sessions; i++ {
		p.Run("ce-session", "new", fmt.Sprintf("t%02d", i))
	}
	st := p.StateDir()
	q := queue.Open(st)
	b.ResetTimer()
	start := time.Now()
	p.Start("ce-queue", "serve")
	var wg sync.WaitGroup
	for i := 0; i < prompts; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := q.Push(context.Background(), fmt.Sprintf("t%02d", i%sessions), fmt.Sprintf("p%d", i), "bench"); err != nil {
				b.Error(err)
			}
		}(i)
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		// (the history included: finished items leave queue.db)
		done, err := q.List(context.Background(), queue.Filter{State: queue.Done})
		if err != nil {
			b.Fatal(err)
		}
		if len(done) == prompts {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d prompts done", len(done), prompts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el := time.Since(start)
	b.ReportMetric(float64(prompts)/el.Seconds(), "prompts/s")
	b.ReportMetric(float64(prompts), "completed")
}

// BenchmarkUp: ce up until every piece is healthy, then the platform's
// idle footprint: RSS of the supervisor and its pieces, and their CPU over
// two idle seconds.
func BenchmarkUp(b *testing.B) {
	p := newPlatform(b, instantConfig("10m")+"enabled: [ask, sessions, cron, heartbeat]\n")
	st := p.StateDir()
	start := time.Now()
	up := p.Start("ce", "up")
	var pids []int
	for deadline := time.Now().Add(20 * time.Second); ; {
		s, err := supervisor.ReadStatus(supervisor.StatusFile(st))
		if err == nil && s.State == supervisor.StateRunning {
			pids = pids[:0]
			ready := true
			for _, pc := range s.Pieces {
				ready = ready && pc.State == supervisor.StateRunning && pc.PID > 0
				pids = append(pids, pc.PID)
			}
			if ready && len(s.Pieces) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("ce up not healthy after 20s: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(benchmetric.MS(time.Since(start)), "healthy-ms")
	pids = append(pids, up.Process.Pid)
	rss, err := benchmetric.SettledRSSMB(pids...)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rss, "rss-MB")
	// Idle CPU is a rate: it needs a window of doing nothing to measure.
	const window = 2 * time.Second
	cpu0 := procCPU(pids)
	<-time.After(window)
	b.ReportMetric(float64(procCPU(pids)-cpu0)/window.Seconds(), "idle-cpu-%") // ticks are 1/100 s
}

// procCPU sums utime+stime (clock ticks, 100 per second) of processes.
func procCPU(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			total += u + k
		}
	}
	return total
}

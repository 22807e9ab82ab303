package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/supervisor"
	"github.com/ce-platform/ce/pkg/testkit/benchbin"

	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/dispatch"
	"github.com/ce-platform/ce/pkg/queue"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/claudebin"
	"github.com/ce-platform/ce/pkg/testkit/fakeapi"
	"github.com/ce-platform/ce/pkg/testkit/instantagent"
	"github.com/rs/zerolog"
)

// binDir holds ce's binaries and the instant agent, built once.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(benchbin.Main(m, &binDir, "cmd/ce", "cmd/ce-session", "cmd/ce-queue", "cmd/ce-mcp", "cmd/ce-bridge", "cmd/ce-cron", "cmd/ce-heartbeat", "internal/tools/instant-agent"))
}

// platform is one state directory with its config and environment.
type platform struct {
	tb    testing.TB
	dir   string
	state string
	env   []string
}

func newPlatform(tb testing.TB, config string, extraEnv ...string) *platform {
	tb.Helper()
	dir := tb.TempDir()
	p := &platform{tb: tb, dir: dir, state: filepath.Join(dir, "state")}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	p.env = append(os.Environ(), "CE_STATE_DIR="+p.state, "CE_CONFIG="+cfg, "PATH="+binDir+":"+os.Getenv("PATH"))
	p.env = append(p.env, extraEnv...)
	tb.Cleanup(func() {
		exec.Command("tmux", "-S", filepath.Join(p.state, "tmux.sock"), "kill-server").Run()
	})
	return p
}

func (p *platform) run(args ...string) string {
	p.tb.Helper()
	cmd := exec.Command(filepath.Join(binDir, args[0]), args[1:]...)
	cmd.Env, cmd.Dir = p.env, p.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		p.tb.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func (p *platform) start(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, args[0]), args[1:]...)
	cmd.Env, cmd.Dir = p.env, p.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	p.tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			// Stuck: its goroutines say where.
			cmd.Process.Signal(syscall.SIGQUIT)
			<-done
			p.tb.Errorf("%s did not stop on SIGINT:\n%s", strings.Join(args, " "), out.String())
		}
	})
	return cmd
}

func instantConfig(keepWarm string) string {
	return fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\nsessions:\n  keep_warm: %s\n", filepath.Join(binDir, "instant-agent"), keepWarm)
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// timeSends runs n sends and reports p50 and p90.
func timeSends(b *testing.B, p *platform, name string, n int) {
	var lat []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		out := p.run("ce-session", "send", name, fmt.Sprintf("prompt %d", i))
		lat = append(lat, time.Since(start))
		if !strings.Contains(out, fmt.Sprintf("prompt %d", i)) {
			b.Fatalf("send %d printed %q", i, out)
		}
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 90)), "p90-ms")
}

// BenchmarkSendInstant: ce-session send end to end with the instant agent
// (warm, the default), so ce's own cost is what is measured.
func BenchmarkSendInstant(b *testing.B) {
	p := newPlatform(b, instantConfig("10m"))
	p.run("ce-session", "new", "s")
	p.run("ce-session", "send", "s", "warm up")
	b.ResetTimer()
	timeSends(b, p, "s", 50*b.N)
}

// BenchmarkSendHistory100k: the same, with 100,000 finished prompts in the
// queue's history: a send must cost what it costs with none.
func BenchmarkSendHistory100k(b *testing.B) {
	p := newPlatform(b, instantConfig("10m"))
	p.run("ce-session", "new", "s")
	p.run("ce-session", "send", "s", "warm up")
	writeHistory(b, p.state, 100_000)
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
	p.run("ce-session", "new", "s")
	b.ResetTimer()
	timeSends(b, p, "s", 30*b.N)
}

func claudePlatform(b *testing.B, keepWarm string) *platform {
	claude, err := claudebin.Ensure()
	if err != nil {
		b.Fatal(err)
	}
	api, err := fakeapi.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(api.Close)
	home := b.TempDir()
	cfg := fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\nsessions:\n  keep_warm: %s\n", claude, keepWarm)
	return newPlatform(b, cfg, claudebin.Env(home, api.URL())...)
}

// BenchmarkClaudeWarm: a later prompt to a warm session, real claude and
// the fake API.
func BenchmarkClaudeWarm(b *testing.B) {
	p := claudePlatform(b, "10m")
	p.run("ce-session", "new", "s")
	p.run("ce-session", "send", "s", "first")
	b.ResetTimer()
	timeSends(b, p, "s", 10*b.N)
}

// BenchmarkClaudeCold: the same prompt with a cold start each time.
func BenchmarkClaudeCold(b *testing.B) {
	p := claudePlatform(b, "0s")
	p.run("ce-session", "new", "s")
	p.run("ce-session", "send", "s", "first")
	b.ResetTimer()
	timeSends(b, p, "s", 5*b.N)
}

// BenchmarkFollowLatency: a line the agent prints reaches a follower in
// another process (through the runner, as for send and tail -f). The
// instant agent stamps each event with the time it printed it.
func BenchmarkFollowLatency(b *testing.B) {
	p := newPlatform(b, fmt.Sprintf("agent:\n  command: %s\n  launch_gap: 0s\n  env:\n    %s: \"1\"\n",
		filepath.Join(binDir, "instant-agent"), instantagent.StampEnv))
	p.run("ce-session", "new", "f")
	p.start("ce-queue", "serve")
	st, _ := statedir.Open(p.state)
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
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
}

// BenchmarkLsCold100: a cold ce-session ls with 100 sessions.
func BenchmarkLsCold100(b *testing.B) {
	p := newPlatform(b, instantConfig("0s"))
	st, err := statedir.Open(p.state)
	if err != nil {
		b.Fatal(err)
	}
	ss := session.Open(st)
	for i := 0; i < 100; i++ {
		if _, err := ss.Create(context.Background(), session.Record{Name: fmt.Sprintf("s%03d", i), User: fmt.Sprintf("u%d", i), Dir: p.dir, Status: session.Idle}, 5); err != nil {
			b.Fatal(err)
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < 20*b.N; i++ {
		start := time.Now()
		out := p.run("ce-session", "ls")
		lat = append(lat, time.Since(start))
		if strings.Count(out, "\n") != 101 {
			b.Fatalf("ls printed %d lines", strings.Count(out, "\n"))
		}
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
}

// BenchmarkThroughput: 200 prompts over 20 sessions through the worker
// and tmux, instant agent: all complete, none lost.
func BenchmarkThroughput(b *testing.B) { throughput(b, 20, 200) }

// BenchmarkThroughput1000: 1000 prompts over 50 sessions.
func BenchmarkThroughput1000(b *testing.B) { throughput(b, 50, 1000) }

func throughput(b *testing.B, sessions, prompts int) {
	p := newPlatform(b, instantConfig("10m")+fmt.Sprintf("  max_per_user: %d\n  max_warm: %d\nqueue:\n  max_parallel: %d\n", sessions, sessions, sessions))
	for i := 0; i < sessions; i++ {
		p.run("ce-session", "new", fmt.Sprintf("t%02d", i))
	}
	st, _ := statedir.Open(p.state)
	q := queue.Open(st)
	b.ResetTimer()
	start := time.Now()
	p.start("ce-queue", "serve")
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
	st, _ := statedir.Open(p.state)
	start := time.Now()
	up := p.start("ce", "up")
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
	b.ReportMetric(ms(time.Since(start)), "healthy-ms")
	pids = append(pids, up.Process.Pid)
	b.ReportMetric(settledRSSMB(pids), "rss-MB")
	// Idle CPU is a rate: it needs a window of doing nothing to measure.
	const window = 2 * time.Second
	cpu0 := procCPU(pids)
	<-time.After(window)
	b.ReportMetric(float64(procCPU(pids)-cpu0)/window.Seconds(), "idle-cpu-%") // ticks are 1/100 s
}

// settledRSSMB sums VmRSS of the processes once start-up work is over: when
// the sum stops changing between readings (at most 10 s).
func settledRSSMB(pids []int) float64 {
	sum := func() float64 {
		t := 0.0
		for _, pid := range pids {
			t += procRSSMB(pid)
		}
		return t
	}
	last, same := sum(), 0
	for deadline := time.Now().Add(10 * time.Second); same < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		now := sum()
		if now == last {
			same++
		} else {
			last, same = now, 0
		}
	}
	return last
}

// procRSSMB reads VmRSS of a process in MB.
func procRSSMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
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

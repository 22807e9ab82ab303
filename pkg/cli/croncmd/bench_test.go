package croncmd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/benchbin"

	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
)

// benchBin holds ce-cron and ce-queue (the runner ce-cron's driver looks
// for beside it), built once when benchmarks run.
var benchBin string

func TestMain(m *testing.M) {
	os.Exit(benchbin.Main(m, &benchBin, "cmd/ce-cron", "cmd/ce-queue", "cmd/ce-mcp"))
}

// benchState is a state directory with n jobs (none due for an hour, spread
// over schedules, zones and targets) and a session "bench".
type benchState struct {
	b   *testing.B
	st  *statedir.Dir
	env []string
}

func newBenchState(b *testing.B, n int) *benchState {
	b.Helper()
	dir, err := os.MkdirTemp("", "cecb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	st, err := statedir.Open(filepath.Join(dir, "s"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	if _, err := session.Open(st).Create(ctx, session.Record{Name: "bench", User: "bench", Status: session.Idle, Dir: dir, Created: now, LastActive: now}, 5); err != nil {
		b.Fatal(err)
	}
	exprs := []string{"0 3 * * *", "*/30 9-17 * * 1-5", "@weekly", "15 */6 * * *", "0 0 1 * *"}
	zones := []string{"", "UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"}
	var jobs []cronjob.Job
	for i := range n {
		s := cronjob.Spec{Name: fmt.Sprintf("job%04d", i), TZ: zones[i%len(zones)], Source: cronjob.SourceCLI,
			Prompt: fmt.Sprintf("scheduled prompt %d: %s", i, strings.Repeat("check things ", 8))}
		switch i % 3 {
		case 0:
			s.In = fmt.Sprintf("%dh", 1+i%48)
		default:
			s.Cron = exprs[i%len(exprs)]
		}
		if i%2 == 0 {
			s.Session = "bench"
		} else {
			s.New = true
		}
		j, err := s.Job(now.Add(-time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		for j.Next.Before(now.Add(time.Hour)) && !j.OneShot() {
			// keep the benchmark's jobs from falling due while it runs
			if j, err = s.Job(j.Next); err != nil {
				b.Fatal(err)
			}
		}
		jobs = append(jobs, j)
	}
	if err := cronjob.Open(st).Add(ctx, jobs...); err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("log:\n  level: warn\n"), 0o600)
	env := append(os.Environ(), "CE_STATE_DIR="+st.Root, "CE_CONFIG="+cfg, "PATH="+benchBin+":"+os.Getenv("PATH"))
	return &benchState{b: b, st: st, env: env}
}

func (bs *benchState) run(args ...string) string {
	bs.b.Helper()
	cmd := exec.Command(filepath.Join(benchBin, "ce-cron"), args...)
	cmd.Env = bs.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		bs.b.Fatalf("ce-cron %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCronTick1k: the real ce-cron tick, a fresh process each time,
// over 1000 jobs: with none due, and with 10 one-shot jobs due each time
// (each pushed into the queue of a session).
func BenchmarkCronTick1k(b *testing.B) {
	bs := newBenchState(b, 1000)
	store := cronjob.Open(bs.st)
	var idle, busy []time.Duration
	b.ResetTimer()
	for i := range 20 * b.N {
		start := time.Now()
		bs.run("tick")
		idle = append(idle, time.Since(start))

		var due []cronjob.Job
		for k := range 10 {
			j, err := cronjob.Spec{Name: fmt.Sprintf("due%d-%d", i, k), In: "1ms", Target: cronjob.Target{Session: "bench"}, Prompt: "due now", Source: cronjob.SourceCLI}.Job(time.Now())
			if err != nil {
				b.Fatal(err)
			}
			due = append(due, j)
		}
		if err := store.Add(context.Background(), due...); err != nil {
			b.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		start = time.Now()
		out := bs.run("tick", "-v")
		busy = append(busy, time.Since(start))
		if n := strings.Count(out, "fired "); n != 10 {
			b.Fatalf("tick fired %d jobs, want 10:\n%s", n, out)
		}
	}
	b.ReportMetric(ms(percentile(idle, 50)), "idle-ms")
	b.ReportMetric(ms(percentile(busy, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(busy, 90)), "p90-ms")
}

// BenchmarkCronServeRSS: the resident memory of ce-cron serve, idle over
// 1000 jobs, from /proc/PID/status.
func BenchmarkCronServeRSS(b *testing.B) {
	bs := newBenchState(b, 1000)
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("log:\n  level: info\n"), 0o600) // to see "scheduler serving"
	cmd := exec.Command(filepath.Join(benchBin, "ce-cron"), "serve")
	cmd.Env = append(bs.env, "CE_CONFIG="+cfg)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	logFile := bs.st.LogFile("cron")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if data, _ := os.ReadFile(logFile); bytes.Contains(data, []byte("scheduler serving")) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("ce-cron serve did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // its first tick is over; it sleeps
	b.ResetTimer()
	kb := vmRSS(b, cmd.Process.Pid)
	b.ReportMetric(float64(kb)/1024, "MB")
}

func vmRSS(b *testing.B, pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

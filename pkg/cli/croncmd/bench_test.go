package croncmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/cronjob"
	"github.com/ce-platform/ce/pkg/session"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/testkit/benchbin"
	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
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
	*benchbin.Platform
	st *statedir.Dir
}

func newBenchState(b *testing.B, n int) *benchState {
	b.Helper()
	p := benchbin.NewPlatform(b, benchBin, "log:\n  level: warn\n")
	st := p.StateDir()
	ctx := context.Background()
	now := time.Now()
	if _, err := session.Open(st).Create(ctx, session.Record{Name: "bench", User: "bench", Status: session.Idle, Dir: p.Dir, Created: now, LastActive: now}, 5); err != nil {
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
	return &benchState{Platform: p, st: st}
}

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
		bs.Run("ce-cron", "tick")
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
		out := bs.Run("ce-cron", "tick", "-v")
		busy = append(busy, time.Since(start))
		if n := strings.Count(out, "fired "); n != 10 {
			b.Fatalf("tick fired %d jobs, want 10:\n%s", n, out)
		}
	}
	b.ReportMetric(benchmetric.MS(benchmetric.Percentile(idle, 50)), "idle-ms")
	benchmetric.ReportPercentiles(b, busy, 50, 90)
}

// BenchmarkCronServeRSS: the resident memory of ce-cron serve, idle over
// 1000 jobs, from /proc/PID/status.
func BenchmarkCronServeRSS(b *testing.B) {
	bs := newBenchState(b, 1000)
	// at level info, to see "scheduler serving"
	if err := os.WriteFile(bs.Config, []byte("log:\n  level: info\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := bs.Start("ce-cron", "serve")
	logFile := bs.st.LogFile("cron")
	benchbin.Await(b, 10*time.Second, func() error {
		if data, _ := os.ReadFile(logFile); !bytes.Contains(data, []byte("scheduler serving")) {
			return errors.New("ce-cron serve did not start")
		}
		return nil
	})
	// Idle: once its first tick is over, RSS stops moving.
	mb, err := benchmetric.SettledRSSMB(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.ReportMetric(mb, "MB")
}

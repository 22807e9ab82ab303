package heartbeatcmd

import (
	"bytes"
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
)

// benchBin holds ce-heartbeat, built once when benchmarks run.
var benchBin string

func TestMain(m *testing.M) { os.Exit(benchbin.Main(m, &benchBin, "cmd/ce-heartbeat")) }

// benchEnv is a state directory and config for the real binary: a
// checklist with nothing to do, so beats end at the gate.
func benchEnv(b *testing.B) (env []string, state string) {
	b.Helper()
	dir, err := os.MkdirTemp("", "cehb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("log:\n  level: info\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "HEARTBEAT.md"), []byte("# Nothing to do yet\n"), 0o600)
	state = filepath.Join(dir, "s")
	return append(os.Environ(), "CE_STATE_DIR="+state, "CE_CONFIG="+cfg, "HOME="+dir), state
}

// BenchmarkHeartbeatServeRSS is the resident memory of an idle
// ce-heartbeat serve after its first beat.
func BenchmarkHeartbeatServeRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		env, state := benchEnv(b)
		cmd := exec.Command(filepath.Join(benchBin, "ce-heartbeat"), "serve")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			log, _ := os.ReadFile(filepath.Join(state, "logs", "heartbeat.log"))
			if bytes.Contains(log, []byte(`"message":"beat"`)) {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatalf("serve did not beat within 10s: %s\n%s", log, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Idle: once the first beat's garbage is collected, RSS stops moving.
		rss := vmRSS(b, cmd.Process.Pid)
		for same, deadline := 0, time.Now().Add(10*time.Second); same < 3 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			if now := vmRSS(b, cmd.Process.Pid); now == rss {
				same++
			} else {
				rss, same = now, 0
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
		}
		b.ReportMetric(float64(rss)/1024, "MB")
	}
}

// vmRSS reads a process's resident set size in KiB.
func vmRSS(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkHeartbeatTickCLI is a cold ce-heartbeat tick --dry-run that
// ends at the gate: what a cron-driven heartbeat costs per beat.
func BenchmarkHeartbeatTickCLI(b *testing.B) {
	for i := 0; i < b.N; i++ {
		env, _ := benchEnv(b)
		var lat []time.Duration
		for j := 0; j < 30; j++ {
			cmd := exec.Command(filepath.Join(benchBin, "ce-heartbeat"), "tick", "--dry-run")
			cmd.Env = env
			start := time.Now()
			out, err := cmd.CombinedOutput()
			lat = append(lat, time.Since(start))
			if err != nil || !bytes.Contains(out, []byte("gate skip")) {
				b.Fatalf("tick: %v\n%s", err, out)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
}

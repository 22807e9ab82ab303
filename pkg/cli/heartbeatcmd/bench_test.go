package heartbeatcmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/benchbin"
	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
)

// benchBin holds ce-heartbeat, built once when benchmarks run.
var benchBin string

func TestMain(m *testing.M) { os.Exit(benchbin.Main(m, &benchBin, "cmd/ce-heartbeat")) }

// newPlatform is a state directory and config for the real binary: a
// checklist with nothing to do, so beats end at the gate.
func newPlatform(b *testing.B) *benchbin.Platform {
	b.Helper()
	p := benchbin.NewPlatform(b, benchBin, "log:\n  level: info\n")
	p.Env = append(p.Env, "HOME="+p.Dir)
	if err := os.WriteFile(filepath.Join(p.Dir, "HEARTBEAT.md"), []byte("# Nothing to do yet\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkHeartbeatServeRSS is the resident memory of an idle
// ce-heartbeat serve after its first beat.
func BenchmarkHeartbeatServeRSS(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p := newPlatform(b)
		var stderr bytes.Buffer
		cmd := p.Command("ce-heartbeat", "serve")
		cmd.Stderr = &stderr
		p.StartCmd(cmd)
		benchbin.Await(b, 10*time.Second, func() error {
			log, _ := os.ReadFile(filepath.Join(p.State, "logs", "heartbeat.log"))
			if !bytes.Contains(log, []byte(`"message":"beat"`)) {
				return fmt.Errorf("serve did not beat within 10s: %s\n%s", log, stderr.String())
			}
			return nil
		})
		// Idle: once the first beat's garbage is collected, RSS stops moving.
		mb, err := benchmetric.SettledRSSMB(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
		}
		b.ReportMetric(mb, "MB")
	}
}

// BenchmarkHeartbeatTickCLI is a cold ce-heartbeat tick --dry-run that
// ends at the gate: what a cron-driven heartbeat costs per beat.
func BenchmarkHeartbeatTickCLI(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p := newPlatform(b)
		lat := benchmetric.Latencies(30, func(int) {
			out, err := p.Command("ce-heartbeat", "tick", "--dry-run").CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("gate skip")) {
				b.Fatalf("tick: %v\n%s", err, out)
			}
		})
		benchmetric.ReportPercentiles(b, lat, 50)
	}
}

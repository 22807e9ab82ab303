package vaultcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/benchbin"

	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/vault"
)

// benchBin holds ce-vault and ce-bridge, built once when benchmarks run.
var benchBin string

func TestMain(m *testing.M) { os.Exit(benchbin.Main(m, &benchBin, "cmd/ce-vault", "cmd/ce-bridge")) }

// benchVault is a state directory with a vault of n secrets, made in this
// process with a cheap scrypt work factor so that the agent unlocks fast;
// the commands timed are the real binaries.
type benchVault struct {
	b    *testing.B
	dir  string
	env  []string
	pass string
}

func newBenchVault(b *testing.B, n int) *benchVault {
	b.Helper()
	dir, err := os.MkdirTemp("", "cevb") // short: the broker's socket path
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	st, err := statedir.Open(filepath.Join(dir, "s"))
	if err != nil {
		b.Fatal(err)
	}
	vault.SetWorkFactorForTests(10)
	v := vault.Open(st)
	ctx := context.Background()
	if _, err := v.Init(ctx, "bench passphrase"); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, _, err := v.Set(ctx, fmt.Sprintf("bench/svc%02d/key%03d", i%10, i), []byte(fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", 40))), vault.SetOptions{Tags: []string{"bench"}}); err != nil {
			b.Fatal(err)
		}
	}
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("bench passphrase\n"), 0o600)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("log:\n  level: warn\n"), 0o600)
	env := append(os.Environ(), "CE_STATE_DIR="+st.Root, "CE_CONFIG="+cfg, "PATH="+benchBin+":"+os.Getenv("PATH"))
	return &benchVault{b: b, dir: dir, env: env, pass: pass}
}

func (bv *benchVault) cmd(stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(benchBin, args[0]), args[1:]...)
	cmd.Env = bv.env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

func (bv *benchVault) run(stdin []byte, args ...string) string {
	bv.b.Helper()
	var out, errb bytes.Buffer
	cmd := bv.cmd(stdin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		bv.b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// start runs a daemon until the benchmark ends (SIGTERM, then wait).
func (bv *benchVault) start(extraEnv []string, args ...string) {
	bv.b.Helper()
	cmd := bv.cmd(nil, args...)
	cmd.Env = append(cmd.Env, extraEnv...)
	if err := cmd.Start(); err != nil {
		bv.b.Fatal(err)
	}
	bv.b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
}

// startAgent starts the broker and an unlocked agent.
func (bv *benchVault) startAgent() {
	bv.b.Helper()
	bv.start(nil, "ce-bridge", "serve")
	bv.start([]string{"CE_VAULT_PASSPHRASE_FILE=" + bv.pass}, "ce-vault", "serve")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := bv.cmd(nil, "ce-vault", "status").Output()
		if strings.Contains(string(out), "unlocked") {
			return
		}
		if time.Now().After(deadline) {
			bv.b.Fatalf("the agent did not unlock: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkVaultSet: ce-vault set from stdin into a vault of 100 secrets,
// with the agent running (set needs neither it nor the passphrase).
func BenchmarkVaultSet(b *testing.B) {
	bv := newBenchVault(b, 100)
	bv.startAgent()
	var lat []time.Duration
	b.ResetTimer()
	for i := range 30 * b.N {
		start := time.Now()
		bv.run([]byte("new value\n"), "ce-vault", "set", fmt.Sprintf("bench/set/k%d", i%5))
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 90)), "p90-ms")
}

// BenchmarkVaultGetAgent: ce-vault get through the unlocked agent, no
// passphrase, in a vault of 100 secrets.
func BenchmarkVaultGetAgent(b *testing.B) {
	bv := newBenchVault(b, 100)
	bv.startAgent()
	var lat []time.Duration
	b.ResetTimer()
	for i := range 30 * b.N {
		start := time.Now()
		out := bv.run(nil, "ce-vault", "get", fmt.Sprintf("bench/svc%02d/key%03d", i%10, i%100))
		lat = append(lat, time.Since(start))
		if !strings.HasPrefix(out, "value-") {
			b.Fatalf("get printed %q", out)
		}
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 90)), "p90-ms")
}

// BenchmarkVaultLsCold: ce-vault ls of 100 secrets, a fresh process each
// time, no agent needed.
func BenchmarkVaultLsCold(b *testing.B) {
	bv := newBenchVault(b, 100)
	var lat []time.Duration
	b.ResetTimer()
	for range 30 * b.N {
		start := time.Now()
		out := bv.run(nil, "ce-vault", "ls")
		lat = append(lat, time.Since(start))
		if n := strings.Count(out, "\n"); n != 101 {
			b.Fatalf("ls printed %d lines", n)
		}
	}
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 90)), "p90-ms")
}

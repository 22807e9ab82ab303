package vaultcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/benchbin"
	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
	"github.com/ce-platform/ce/pkg/vault"
)

// benchBin holds ce-vault and ce-bridge, built once when benchmarks run.
var benchBin string

func TestMain(m *testing.M) { os.Exit(benchbin.Main(m, &benchBin, "cmd/ce-vault", "cmd/ce-bridge")) }

// benchVault is a state directory with a vault of n secrets, made in this
// process with a cheap scrypt work factor so that the agent unlocks fast;
// the commands timed are the real binaries.
type benchVault struct {
	*benchbin.Platform
	pass string
}

func newBenchVault(b *testing.B, n int) *benchVault {
	b.Helper()
	// Benchmarks measure the agent, not a person confirming.
	p := benchbin.NewPlatform(b, benchBin, "log:\n  level: warn\nvault:\n  confirm: []\n")
	st := p.StateDir()
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
	pass := filepath.Join(p.Dir, "pass")
	os.WriteFile(pass, []byte("bench passphrase\n"), 0o600)
	return &benchVault{Platform: p, pass: pass}
}

// startAgent starts the broker and an unlocked agent, until the benchmark
// ends.
func (bv *benchVault) startAgent(b *testing.B) {
	b.Helper()
	bv.Start("ce-bridge", "serve")
	agent := bv.Command("ce-vault", "serve")
	agent.Env = append(agent.Env, "CE_VAULT_PASSPHRASE_FILE="+bv.pass)
	bv.StartCmd(agent)
	benchbin.Await(b, 10*time.Second, func() error {
		if out, _ := bv.Command("ce-vault", "status").Output(); !strings.Contains(string(out), "unlocked") {
			return fmt.Errorf("the agent did not unlock: %s", out)
		}
		return nil
	})
}

// BenchmarkVaultSet: ce-vault set from stdin into a vault of 100 secrets,
// with the agent running (set needs neither it nor the passphrase).
func BenchmarkVaultSet(b *testing.B) {
	bv := newBenchVault(b, 100)
	bv.startAgent(b)
	b.ResetTimer()
	lat := benchmetric.Latencies(30*b.N, func(i int) {
		bv.RunInput([]byte("new value\n"), "ce-vault", "set", fmt.Sprintf("bench/set/k%d", i%5))
	})
	benchmetric.ReportPercentiles(b, lat, 50, 90)
}

// BenchmarkVaultGetAgent: ce-vault get through the unlocked agent, no
// passphrase, in a vault of 100 secrets.
func BenchmarkVaultGetAgent(b *testing.B) {
	bv := newBenchVault(b, 100)
	bv.startAgent(b)
	b.ResetTimer()
	lat := benchmetric.Latencies(30*b.N, func(i int) {
		if out := bv.Run("ce-vault", "get", fmt.Sprintf("bench/svc%02d/key%03d", i%10, i%100)); !strings.HasPrefix(out, "value-") {
			b.Fatalf("get printed %q", out)
		}
	})
	benchmetric.ReportPercentiles(b, lat, 50, 90)
}

// BenchmarkVaultLsCold: ce-vault ls of 100 secrets, a fresh process each
// time, no agent needed.
func BenchmarkVaultLsCold(b *testing.B) {
	bv := newBenchVault(b, 100)
	b.ResetTimer()
	lat := benchmetric.Latencies(30*b.N, func(int) {
		if n := strings.Count(bv.Run("ce-vault", "ls"), "\n"); n != 101 {
			b.Fatalf("ls printed %d lines", n)
		}
	})
	benchmetric.ReportPercentiles(b, lat, 50, 90)
}

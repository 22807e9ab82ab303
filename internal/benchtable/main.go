// Command benchtable runs ce's benchmarks (`make bench`) and prints their
// figures as a table next to their targets.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
)

// row names a benchmark metric and its target.
type row struct {
	bench, metric, figure, target string
}

var rows = []row{
	{"SendInstant", "p50-ms", "send end to end, instant agent (warm), p50 ms", "<= 3"},
	{"SendInstant", "p90-ms", "send end to end, instant agent (warm), p90 ms", "<= 6"},
	{"SendHistory100k", "p50-ms", "same, 100k finished prompts in the history, p50 ms", "= without"},
	{"SendHistory100k", "p90-ms", "same, 100k finished prompts in the history, p90 ms", "= without"},
	{"SendInstantCold", "p50-ms", "send end to end, instant agent (cold), p50 ms", "-"},
	{"SendInstantCold", "p90-ms", "send end to end, instant agent (cold), p90 ms", "-"},
	{"ClaudeWarm", "p50-ms", "second prompt, warm session, real claude, p50 ms", "claude + 5"},
	{"ClaudeCold", "p50-ms", "same prompt, cold start, real claude, p50 ms", "(0.65-1.5 s)"},
	{"FollowLatency", "p50-ms", "agent line -> follower, p50 ms", "<= 0.5"},
	{"FollowLatency", "p99-ms", "agent line -> follower, p99 ms", "<= 2"},
	{"LsCold100", "p50-ms", "cold ce-session ls, 100 sessions, p50 ms", "<= 5"},
	{"Throughput", "completed", "200 prompts over 20 sessions: completed", "200"},
	{"Throughput", "prompts/s", "200 prompts over 20 sessions: prompts/s", ">= 20"},
	{"Throughput1000", "completed", "1000 prompts over 50 sessions: completed", "1000"},
	{"Throughput1000", "prompts/s", "1000 prompts over 50 sessions: prompts/s", ">= 200"},
	{"Up", "healthy-ms", "ce up to all healthy (broker, queue, cron, heartbeat), ms", "<= 500"},
	{"Up", "rss-MB", "platform idle RSS (supervisor + 4 daemons), MB", "<= 35"},
	{"Up", "idle-cpu-%", "platform idle CPU over 2 s, %", "~0"},
	{"BridgeCall", "p50-us", "bridge call through the broker, p50 us", "<= 20"},
	{"BridgeCall", "p99-us", "bridge call through the broker, p99 us", "-"},
	{"BridgeThroughput", "calls/s", "bridge calls/s over 8 connections (4 callers each)", ">= 100000"},
	{"BridgePublish", "p50-us", "bridge publish -> subscriber, p50 us", "-"},
	{"BridgePublish", "p99-us", "bridge publish -> subscriber, p99 us", "<= 1000"},
	{"VaultSet", "p50-ms", "ce-vault set, agent running, 100 secrets, p50 ms", "-"},
	{"VaultGetAgent", "p50-ms", "ce-vault get through the agent, p50 ms", "-"},
	{"VaultLsCold", "p50-ms", "cold ce-vault ls, 100 secrets, p50 ms", "<= 5"},
	{"MemorySearch10k", "p50-ms", "memory search, 10k notes of 1 KB (API), p50 ms", "<= 1"},
	{"MemorySearch10k", "p90-ms", "memory search, 10k notes of 1 KB (API), p90 ms", "<= 5"},
	{"MemoryReindex10k", "s", "memory full reindex, 10k notes, s", "<= 10"},
	{"MemoryAdd", "p50-ms", "memory add, one note into 10k (API), p50 ms", "<= 20"},
	{"MemorySync10k", "p50-ms", "memory rescan of 10k unchanged files, p50 ms", "-"},
	{"MemorySearchCLI10k", "p50-ms", "cold ce-memory search, 10k notes, p50 ms", "-"},
	{"MemorySearchCLI10k", "scan-p50-ms", "cold ce-memory search after a change, 10k notes, p50 ms", "-"},
	{"CronTick1k", "idle-ms", "ce-cron tick, 1000 jobs, none due, p50 ms", "<= 50"},
	{"CronTick1k", "p50-ms", "ce-cron tick, 1000 jobs, 10 due, p50 ms", "<= 50"},
	{"CronServeRSS", "MB", "ce-cron serve idle RSS, 1000 jobs, MB", "-"},
	{"HeartbeatServeRSS", "MB", "ce-heartbeat serve idle RSS, MB", "-"},
	{"HeartbeatGate", "p50-ms", "heartbeat beat ending at the gate (no model), p50 ms", "-"},
	{"HeartbeatGate", "gate-p50-ms", "same, with one gate command that does not fire, p50 ms", "-"},
	{"HeartbeatTickCLI", "p50-ms", "cold ce-heartbeat tick --dry-run ending at the gate, p50 ms", "-"},
}

func main() {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-count", "1", "-timeout", "20m"}
	args = append(args, packages()...)
	cmd := exec.Command("go", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	figures := parse(out.String())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tMEASURED\tTARGET")
	for _, r := range rows {
		v, ok := figures[r.bench+" "+r.metric]
		if !ok {
			v = "(not run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.figure, v, r.target)
	}
	tw.Flush()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %v\n%s", err, out.String())
		os.Exit(1)
	}
}

// packages lists the packages with benchmarks; issues add theirs here.
func packages() []string {
	return []string{"./pkg/bench/", "./pkg/bridge/", "./pkg/memory/", "./pkg/cli/vaultcmd/", "./pkg/cli/croncmd/", "./pkg/heartbeat/", "./pkg/cli/heartbeatcmd/"}
}

// parse reads "BenchmarkX-2  1  123 ns/op  4.5 p50-ms" lines.
func parse(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			m[name+" "+f[i+1]] = f[i]
		}
	}
	return m
}

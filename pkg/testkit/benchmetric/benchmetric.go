// Package benchmetric computes the figures ce's benchmarks report with
// b.ReportMetric: percentiles of latencies in milliseconds, and the resident
// memory of processes read from /proc. It is test support inside ce: only
// tests import it, and other programs should not rely on it.
package benchmetric

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Percentile returns the p-th percentile (0 to 100) of ds, the nearest
// rank below; ds is left as it is.
func Percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p/100)]
}

// MS returns d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Latencies calls f(i) for each i from 0 to n-1 and returns how long each
// call took.
func Latencies(n int, f func(i int)) []time.Duration {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		f(i)
		lat = append(lat, time.Since(start))
	}
	return lat
}

// ReportPercentiles reports each p-th percentile of lat in milliseconds,
// as the metric "p<p>-ms" ("p50-ms", "p90-ms").
func ReportPercentiles(b *testing.B, lat []time.Duration, ps ...float64) {
	b.Helper()
	for _, p := range ps {
		b.ReportMetric(MS(Percentile(lat, p)), fmt.Sprintf("p%g-ms", p))
	}
}

// RSS returns the resident set size of a process in KiB (VmRSS in
// /proc/PID/status).
func RSS(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// SettledRSSMB returns the summed RSS of processes in MiB once their
// start-up work is over: when the sum has not changed over three readings
// 100 ms apart, or after 10 s.
func SettledRSSMB(pids ...int) (float64, error) {
	sum := func() (int, error) {
		t := 0
		for _, pid := range pids {
			kb, err := RSS(pid)
			if err != nil {
				return 0, err
			}
			t += kb
		}
		return t, nil
	}
	last, err := sum()
	if err != nil {
		return 0, err
	}
	for same, deadline := 0, time.Now().Add(10*time.Second); same < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		now, err := sum()
		if err != nil {
			return 0, err
		}
		if now == last {
			same++
		} else {
			last, same = now, 0
		}
	}
	return float64(last) / 1024, nil
}

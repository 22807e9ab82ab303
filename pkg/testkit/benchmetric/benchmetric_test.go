package benchmetric

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {50, 3}, {90, 4}, {99, 4}, {100, 5}} {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("Percentile(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if ds[0] != 5 {
		t.Errorf("Percentile sorted its argument: %v", ds)
	}
	if got := MS(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("MS = %v", got)
	}
}

func TestLatencies(t *testing.T) {
	var seen []int
	lat := Latencies(3, func(i int) { seen = append(seen, i) })
	if len(lat) != 3 || len(seen) != 3 || seen[2] != 2 {
		t.Errorf("Latencies = %v, calls %v", lat, seen)
	}
}

func TestRSS(t *testing.T) {
	kb, err := RSS(os.Getpid())
	if err != nil || kb <= 0 {
		t.Fatalf("RSS = %d, %v", kb, err)
	}
	if _, err := RSS(-1); err == nil {
		t.Error("RSS of no process")
	}
	// An idle process settles at once.
	idle := exec.Command("sleep", "60")
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { idle.Process.Kill(); idle.Wait() }()
	mb, err := SettledRSSMB(idle.Process.Pid)
	if err != nil || mb <= 0 {
		t.Errorf("SettledRSSMB = %v, %v", mb, err)
	}
}

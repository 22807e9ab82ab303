package runner

import (
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/statedir"
)

// A burst of LaunchBurst starts goes at once; the next waits one gap; a
// start after a quiet spell does not wait.
func TestLaunchBucket(t *testing.T) {
	st, err := statedir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var waited []time.Duration
	b := launchBucket{st: st, gap: time.Second, now: func() time.Time { return clock },
		sleep: func(d time.Duration) { waited = append(waited, d); clock = clock.Add(d) }}
	for i := 0; i < LaunchBurst; i++ {
		if err := b.take(); err != nil {
			t.Fatal(err)
		}
	}
	if len(waited) != 0 {
		t.Fatalf("the burst waited %v", waited)
	}
	b.take()
	b.take()
	if len(waited) != 2 || waited[0] != time.Second || waited[1] != time.Second {
		t.Fatalf("after the burst the starts waited %v, want 1s each", waited)
	}
	clock = clock.Add(time.Hour)
	waited = nil
	b.take()
	if len(waited) != 0 {
		t.Fatalf("a start after a quiet hour waited %v", waited)
	}
	off := launchBucket{st: st, gap: 0, now: time.Now, sleep: func(d time.Duration) { t.Fatalf("waited %v with no gap", d) }}
	for i := 0; i < 10; i++ {
		off.take()
	}
}

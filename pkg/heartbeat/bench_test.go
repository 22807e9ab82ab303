package heartbeat

import (
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/testkit/benchmetric"
	"github.com/rs/zerolog"
)

// BenchmarkHeartbeatGate is what a beat that ends at the gate costs: no
// model call, only the state, the queue and the checklist read, the beat
// logged; then with one gate command that does not fire.
func BenchmarkHeartbeatGate(b *testing.B) {
	r := newRig(b)
	r.e.Log = zerolog.Nop()
	r.instructions("# Nothing to do\n")
	measure := func(n int) []time.Duration {
		lat := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			r.clk.Add(time.Hour * 24)
			start := time.Now()
			bt, err := r.e.Beat(r.ctx, BeatOptions{IfDue: true})
			lat = append(lat, time.Since(start))
			if err != nil || bt.Tier != TierGate || bt.Outcome != OutcomeSkip {
				b.Fatalf("beat = %+v, %v", bt, err)
			}
		}
		return lat
	}
	for i := 0; i < b.N; i++ {
		lat := measure(200)
		benchmetric.ReportPercentiles(b, lat, 50)
		r.hb().Gates = []string{"test -e /nonexistent-heartbeat-gate"}
		lat = measure(100)
		b.ReportMetric(benchmetric.MS(benchmetric.Percentile(lat, 50)), "gate-p50-ms")
		r.hb().Gates = nil
	}
}

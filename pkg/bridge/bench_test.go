package bridge

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// The benchmarks run the broker in-process on a real Unix socket, as
// `make bench` reports them; each does a fixed amount
// of work per b.N so that -benchtime 1x gives stable figures.

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p/100)]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

type benchParams struct {
	Key     string `json:"key"`
	Session string `json:"session"`
}

// BenchmarkBridgeCall: one caller, one provider, calls one after another.
func BenchmarkBridgeCall(b *testing.B) {
	path := sockPath(b)
	startBroker(b, path)
	provide(b, newClient(b, path), echo, "bench.echo")
	c := newClient(b, path)
	ctx := context.Background()
	in := benchParams{Key: "github-token", Session: "s1"}
	var out benchParams
	for range 500 {
		if err := c.Call(ctx, "bench.echo", in, &out); err != nil {
			b.Fatal(err)
		}
	}
	n := 5000 * b.N
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for range n {
		t0 := time.Now()
		if err := c.Call(ctx, "bench.echo", in, &out); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(us(percentile(lat, 50)), "p50-us")
	b.ReportMetric(us(percentile(lat, 99)), "p99-us")
}

// BenchmarkBridgeThroughput: 8 caller connections, 4 goroutines each,
// through one provider.
func BenchmarkBridgeThroughput(b *testing.B) {
	const conns, perConn = 8, 4
	path := sockPath(b)
	startBroker(b, path)
	provide(b, newClient(b, path), echo, "bench.echo")
	clients := make([]*Client, conns)
	for i := range clients {
		clients[i] = newClient(b, path)
		if err := clients[i].Call(context.Background(), "bench.echo", 1, nil); err != nil {
			b.Fatal(err)
		}
	}
	total := 40000 * b.N
	per := total / (conns * perConn)
	in := benchParams{Key: "github-token", Session: "s1"}
	var wg sync.WaitGroup
	errs := make(chan error, conns*perConn)
	b.ResetTimer()
	t0 := time.Now()
	for _, c := range clients {
		for range perConn {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out benchParams
				for range per {
					if err := c.Call(context.Background(), "bench.echo", in, &out); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(per*conns*perConn)/el.Seconds(), "calls/s")
}

// BenchmarkBridgePublish: publish -> subscriber latency, one event at a
// time: the publisher waits for each event to arrive before the next, so
// the figure is the path's latency, not a queue's.
func BenchmarkBridgePublish(b *testing.B) {
	path := sockPath(b)
	startBroker(b, path)
	sub := newClient(b, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := sub.Subscribe(ctx, "session.*")
	if err != nil {
		b.Fatal(err)
	}
	pub := newClient(b, path)
	const warm = 200
	n := 5000 * b.N
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := range warm + n {
		t0 := time.Now()
		if err := pub.Publish(ctx, "session.bench", i); err != nil {
			b.Fatal(err)
		}
		var ev Event
		select {
		case ev = <-events:
		case <-time.After(5 * time.Second):
			b.Fatalf("event %d lost", i)
		}
		d := time.Since(t0)
		var seq int
		if err := json.Unmarshal(ev.Data, &seq); err != nil || seq != i {
			b.Fatalf("event %d arrived as %d", i, seq)
		}
		if i >= warm {
			lat = append(lat, d)
		}
	}
	b.StopTimer()
	b.ReportMetric(us(percentile(lat, 50)), "p50-us")
	b.ReportMetric(us(percentile(lat, 99)), "p99-us")
}

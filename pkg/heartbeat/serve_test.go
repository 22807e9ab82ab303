package heartbeat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ce-platform/ce/pkg/bridge"
	"github.com/ce-platform/ce/pkg/config"
	"github.com/ce-platform/ce/pkg/daemon"
	"github.com/rs/zerolog"
)

// waitBeats waits until the log holds n beats.
func waitBeats(t *testing.T, e *Engine, n int) []Beat {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := e.Beats(context.Background(), 100)
		if err == nil && len(log) >= n {
			return log
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has %d beats after 10s, want %d: %+v", len(log), n, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serve sleeps until the next beat and wakes for triggers: written to
// heartbeat.db by another process, published on the broker, or called as
// heartbeat.trigger; a reload swaps the configuration.
func TestServe(t *testing.T) {
	r := newRig(t)
	r.e.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A broker, so the topic and the method can be tried.
	srv := bridge.NewServer(zerolog.Nop())
	ln, err := bridge.Listen(r.e.State.BridgeSocket())
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx, ln)

	reload := make(chan *config.Config, 1)
	done := make(chan error, 1)
	spec := daemon.Spec{Name: "heartbeat", What: "ce-heartbeat serve", Lock: ServeLock}
	in := daemon.Input{State: r.e.State, Config: r.e.Config()}
	serve := func(ctx context.Context, dm *daemon.Daemon) error { return r.e.Serve(ctx, dm.Bridge, reload) }
	go func() { done <- daemon.Run(ctx, spec, in, serve) }()
	// The first beat is due at once.
	log := waitBeats(t, r.e, 1)
	expect(t, log[0], TierGate, OutcomeSkip, "", "nothing to do")

	other := New(r.e.State, r.e.Config())
	deadline := time.Now().Add(5 * time.Second)
	for !other.Serving() {
		if time.Now().After(deadline) {
			t.Fatal("serve does not hold its lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := daemon.Run(ctx, spec, in, serve); !errors.As(err, new(*daemon.HeldError)) {
		t.Errorf("a second serve: %v", err)
	}
	if _, err := other.Trigger(ctx, TriggerRequest{Urgency: UrgencyNow, Source: "other"}); err != nil {
		t.Fatal(err)
	}
	log = waitBeats(t, r.e, 2)
	if log[1].Trigger == nil || log[1].Trigger.Source != "other" {
		t.Errorf("beat 2 = %+v", log[1])
	}

	bc := bridge.Dial(r.e.State.BridgeSocket())
	defer bc.Close()
	waitProvider(t, bc)
	var res struct {
		NextBeat time.Time `json:"next_beat"`
	}
	if err := bc.Call(ctx, MethodTrigger, TriggerRequest{Urgency: UrgencyNow, Reason: "deploy finished"}, &res); err != nil {
		t.Fatal(err)
	}
	log = waitBeats(t, r.e, 3)
	if tr := log[2].Trigger; tr == nil || tr.Source != "broker" || tr.Reason != "deploy finished" {
		t.Errorf("beat 3 trigger = %+v", tr)
	}
	var st Status
	if err := bc.Call(ctx, MethodStatus, nil, &st); err != nil || !st.Serving {
		t.Errorf("heartbeat.status = %+v, %v", st, err)
	}
	if err := bc.Call(ctx, MethodTrigger, map[string]any{"urgency": "soon"}, nil); err == nil {
		t.Error("a bad urgency was accepted")
	}
	if err := bc.Publish(ctx, TopicTrigger, TriggerRequest{Urgency: UrgencyNow, Source: "pub"}); err != nil {
		t.Fatal(err)
	}
	log = waitBeats(t, r.e, 4)
	if tr := log[3].Trigger; tr == nil || tr.Source != "pub" {
		t.Errorf("beat 4 trigger = %+v", tr)
	}

	cfg := *r.e.Config()
	cfg.Heartbeat.Interval = config.Duration(7 * time.Hour)
	reload <- &cfg
	deadline = time.Now().Add(5 * time.Second)
	for r.e.Config().Heartbeat.Interval != cfg.Heartbeat.Interval {
		if time.Now().After(deadline) {
			t.Fatal("reload did not take")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func waitProvider(t *testing.T, bc *bridge.Client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var p struct {
			Providers []struct {
				Method string `json:"method"`
			} `json:"providers"`
		}
		if bc.Call(context.Background(), "bridge.providers", nil, &p) == nil {
			for _, x := range p.Providers {
				if x.Method == MethodTrigger {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve does not provide heartbeat.trigger")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

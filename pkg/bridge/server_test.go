package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRouting(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	p := newClient(t, path)
	provide(t, p, func(ctx context.Context, method string, params json.RawMessage) (any, error) {
		switch method {
		case "t.echo":
			return params, nil
		case "t.fail":
			return nil, errors.New("it failed")
		case "t.coded":
			return nil, &RPCError{Code: 42, Message: "coded", Data: json.RawMessage(`{"x":1}`)}
		}
		return nil, fmt.Errorf("unexpected %s", method)
	}, "t.echo", "t.fail", "t.coded")

	c := newClient(t, path)
	ctx := context.Background()
	var got map[string]int
	if err := c.Call(ctx, "t.echo", map[string]int{"a": 1}, &got); err != nil {
		t.Fatal(err)
	}
	if got["a"] != 1 {
		t.Fatalf("echo: %v", got)
	}
	if err := c.Call(ctx, "t.echo", nil, nil); err != nil {
		t.Fatal(err)
	}

	err := c.Call(ctx, "t.fail", nil, nil)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeHandlerError || re.Message != "it failed" {
		t.Fatalf("plain handler error: %#v", err)
	}
	err = c.Call(ctx, "t.coded", nil, nil)
	if !errors.As(err, &re) || re.Code != 42 || re.Message != "coded" || string(re.Data) != `{"x":1}` {
		t.Fatalf("coded handler error: %#v", err)
	}

	// By hand: the caller's id comes back, whatever its type.
	r := dialRaw(t, path)
	for _, id := range []string{`"s-1"`, `7`, `null`, `-3.5`} {
		m := r.call(`{"jsonrpc":"2.0","id":` + id + `,"method":"t.echo","params":[1,"x"]}`)
		b, _ := json.Marshal(m["id"])
		want := id
		if id == `-3.5` {
			want = `-3.5`
		}
		if string(b) != want || fmt.Sprint(m["result"]) != "[1 x]" {
			t.Fatalf("id %s: got %v", id, m)
		}
	}
	// A routed notification gets no answer, and the connection goes on.
	r.send(`{"jsonrpc":"2.0","method":"t.echo","params":{}}`)
	if m := r.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.health"}`); m["result"] == nil {
		t.Fatalf("health after a notification: %v", m)
	}
}

func TestConcurrentCalls(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	provide(t, newClient(t, path), echo, "t.echo")
	c := newClient(t, path)
	errs := make(chan error, 50)
	for g := 0; g < 50; g++ {
		go func() {
			for i := 0; i < 100; i++ {
				var n int
				if err := c.Call(context.Background(), "t.echo", g*1000+i, &n); err != nil {
					errs <- err
					return
				}
				if n != g*1000+i {
					errs <- fmt.Errorf("got %d, want %d", n, g*1000+i)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 50; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestProvideConflict(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	a := newClient(t, path)
	cancelA := provide(t, a, echo, "t.one", "t.two")

	b := newClient(t, path)
	err := b.Provide(context.Background(), []string{"t.three", "t.two"}, echo)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeConflict || !strings.Contains(re.Message, "t.two is already provided by pid") {
		t.Fatalf("second provide: %v", err)
	}
	// Nothing of a refused request is claimed.
	r := dialRaw(t, path)
	m := r.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.providers"}`)
	if got := fmt.Sprint(m["result"].(map[string]any)["providers"]); strings.Contains(got, "t.three") || !strings.Contains(got, fmt.Sprint(os.Getpid())) {
		t.Fatalf("providers: %s", got)
	}
	// Providing again on the same connection is fine; an empty or
	// reserved list is refused.
	r.call(`{"jsonrpc":"2.0","id":2,"method":"bridge.provide","params":{"methods":["t.raw"]}}`)
	if m := r.call(`{"jsonrpc":"2.0","id":3,"method":"bridge.provide","params":{"methods":["t.raw","t.raw2"]}}`); fmt.Sprint(m["result"]) != "map[methods:[t.raw t.raw2]]" {
		t.Fatalf("provide again: %v", m)
	}
	for _, p := range []string{`{}`, `{"methods":[]}`, `{"methods":["bridge.x"]}`, `{"methods":["a b"]}`, `{"methods":"x"}`} {
		if m := r.call(`{"jsonrpc":"2.0","id":4,"method":"bridge.provide","params":` + p + `}`); errCode(m) != CodeInvalidParams {
			t.Fatalf("provide %s: %v", p, m)
		}
	}

	// Once the first provider is gone, the methods are free.
	cancelA()
	eventually(t, "the first provider to leave", func() bool { return !providerOf(b, "t.two") })
	provide(t, b, echo, "t.two")
	var n int
	if err := b.Call(context.Background(), "t.two", 5, &n); err != nil || n != 5 {
		t.Fatalf("call after takeover: %v %d", err, n)
	}
}

func TestProviderDisconnectFailsInFlight(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	started := make(chan struct{})
	p := Dial(path)
	defer p.Close()
	go p.Provide(context.Background(), []string{"t.block"}, func(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c := newClient(t, path)
	eventually(t, "provider", func() bool { return providerOf(c, "t.block") })
	res := make(chan error, 1)
	go func() { res <- c.Call(context.Background(), "t.block", nil, nil) }()
	<-started
	t0 := time.Now()
	p.Close()
	err := <-res
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeProviderGone {
		t.Fatalf("call: %v", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("the call failed after %s", d)
	}
	if !strings.Contains(re.Message, "t.block: the provider (pid") {
		t.Fatalf("message: %s", re.Message)
	}
	if err := c.Call(context.Background(), "t.block", nil, nil); !IsNoProvider(err) {
		t.Fatalf("after the provider left: %v", err)
	}
}

func providerOf(c *Client, method string) bool {
	var r struct{ Providers []ProviderInfo }
	if c.Call(context.Background(), "bridge.providers", nil, &r) != nil {
		return false
	}
	for _, p := range r.Providers {
		if p.Method == method {
			return true
		}
	}
	return false
}

// blocker provides t.block, whose handler waits for its context and
// reports why it ended.
func blocker(t *testing.T, path string) (started chan struct{}, ended chan error) {
	started = make(chan struct{}, 10)
	ended = make(chan error, 10)
	provide(t, newClient(t, path), func(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}, "t.block")
	return started, ended
}

func waitErr(t *testing.T, ch chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

func TestCallerDisconnectCancels(t *testing.T) {
	path := sockPath(t)
	b := startBroker(t, path)
	started, ended := blocker(t, path)

	r := dialRaw(t, path)
	r.send(`{"jsonrpc":"2.0","id":1,"method":"t.block"}`)
	<-started
	r.nc.Close()
	if err := waitErr(t, ended, "the handler's cancellation"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v", err)
	}
	eventually(t, "no call in flight", func() bool { return b.health().InFlight == 0 })

	// A Go caller whose context is cancelled cancels too.
	c := newClient(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- c.Call(ctx, "t.block", nil, nil) }()
	<-started
	cancel()
	if err := waitErr(t, res, "the call"); !errors.Is(err, context.Canceled) {
		t.Fatalf("call: %v", err)
	}
	if err := waitErr(t, ended, "the handler's cancellation"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v", err)
	}

	// bridge.cancel by hand answers the call with CodeCancelled.
	r = dialRaw(t, path)
	r.send(`{"jsonrpc":"2.0","id":"x","method":"t.block"}`)
	<-started
	r.send(`{"jsonrpc":"2.0","id":"c","method":"bridge.cancel","params":{"id":"x"}}`)
	got := map[string]map[string]any{}
	for range 2 {
		m := r.recv()
		got[m["id"].(string)] = m
	}
	if errCode(got["x"]) != CodeCancelled || fmt.Sprint(got["c"]["result"]) != "map[cancelled:true]" {
		t.Fatalf("cancel by hand: %v", got)
	}
	waitErr(t, ended, "the handler's cancellation")
	if m := r.call(`{"jsonrpc":"2.0","id":"c2","method":"bridge.cancel","params":{"id":"x"}}`); fmt.Sprint(m["result"]) != "map[cancelled:false]" {
		t.Fatalf("cancel of nothing: %v", m)
	}
}

func TestDeadline(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	started, ended := blocker(t, path)
	c := newClient(t, path)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err := c.Call(ctx, "t.block", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call: %v", err)
	}
	if d := time.Since(t0); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("the call returned after %s", d)
	}
	<-started
	if err := waitErr(t, ended, "the handler's deadline"); err == nil {
		t.Fatal("handler context did not end")
	}

	// The broker's own deadline: the caller gets CodeTimeout, the provider
	// a bridge.cancel (its handler's context ends).
	r := dialRaw(t, path)
	t0 = time.Now()
	m := r.call(`{"jsonrpc":"2.0","id":9,"method":"t.block","timeout_ms":150}`)
	if errCode(m) != CodeTimeout || !strings.Contains(errMessage(m), "t.block: no answer from its provider (pid") {
		t.Fatalf("timeout: %v", m)
	}
	if d := time.Since(t0); d < 140*time.Millisecond {
		t.Fatalf("timed out after %s", d)
	}
	<-started
	waitErr(t, ended, "the handler's cancellation")

	// The provider sees the deadline as timeout_ms.
	pr := dialRaw(t, path)
	pr.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.provide","params":{"methods":["t.raw"]}}`)
	r.send(`{"jsonrpc":"2.0","id":10,"method":"t.raw","timeout_ms":5000}`)
	req := pr.recv()
	if ms := req["timeout_ms"].(float64); ms <= 0 || ms > 5000 {
		t.Fatalf("forwarded request: %v", req)
	}
	r.send(`{"jsonrpc":"2.0","id":11,"method":"t.raw"}`)
	if req := pr.recv(); req["timeout_ms"].(float64) != float64(DefaultTimeout.Milliseconds()) {
		t.Fatalf("forwarded request without timeout: %v", req)
	}
	var re *RPCError
	if errors.As(fmt.Errorf("x: %w", &RPCError{Code: CodeTimeout}), &re) && !errors.Is(re, context.DeadlineExceeded) {
		t.Fatal("RPCError timeout is not DeadlineExceeded")
	}
}

func TestNoProvider(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	c := newClient(t, path)
	for method, want := range map[string]string{
		"vault.get":     "no provider for vault.get: start ce-vault serve (or ce up)",
		"cron.add":      "no provider for cron.add: start ce-cron serve (or ce up)",
		"heartbeat.x":   "no provider for heartbeat.x: start ce-heartbeat serve (or ce up)",
		"queue.push":    "no provider for queue.push: start ce-queue serve (or ce up)",
		"telegram.send": "no provider for telegram.send: start ce-telegram serve (or ce up)",
		"memory.search": "no provider for memory.search: start ce-memory (or ce up)",
		"nosuch.method": "no provider for nosuch.method: start the command that provides nosuch.method (or ce up)",
	} {
		t0 := time.Now()
		err := c.Call(context.Background(), method, map[string]any{}, nil)
		var re *RPCError
		if !errors.As(err, &re) || re.Code != CodeMethodNotFound || re.Message != want || !IsNoProvider(err) {
			t.Errorf("%s: %v", method, err)
		}
		if d := time.Since(t0); d > 100*time.Millisecond {
			t.Errorf("%s failed after %s", method, d)
		}
	}
	err := c.Call(context.Background(), "bridge.nosuch", nil, nil)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeMethodNotFound || !strings.HasPrefix(re.Message, "unknown method bridge.nosuch: the broker's own methods are bridge.provide") || IsNoProvider(err) {
		t.Errorf("bridge.nosuch: %v", err)
	}
}

func TestBadFrames(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	r := dialRaw(t, path)
	health := func() {
		t.Helper()
		m := r.call(`{"jsonrpc":"2.0","id":"h","method":"bridge.health"}`)
		if m["id"] != "h" || m["result"].(map[string]any)["ok"] != true {
			t.Fatalf("health: %v", m)
		}
	}
	for _, tc := range []struct {
		frame string
		code  int
		id    any
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"bridge.health"`, CodeParseError, nil},
		{`not json`, CodeParseError, nil},
		{`[{"jsonrpc":"2.0","id":1,"method":"bridge.health"}]`, CodeInvalidRequest, nil},
		{`42`, CodeInvalidRequest, nil},
		{`{"jsonrpc":"1.0","id":1,"method":"bridge.health"}`, CodeInvalidRequest, 1.0},
		{`{"id":1,"method":"bridge.health"}`, CodeInvalidRequest, 1.0},
		{`{"jsonrpc":"2.0","id":{},"method":"bridge.health"}`, CodeInvalidRequest, nil},
		{`{"jsonrpc":"2.0","id":2,"method":""}`, CodeInvalidRequest, 2.0},
		{`{"jsonrpc":"2.0","id":2,"method":7}`, CodeInvalidRequest, 2.0},
		{`{"jsonrpc":"2.0","id":3,"method":"x.y","timeout_ms":-1}`, CodeInvalidRequest, 3.0},
		{`{"jsonrpc":"2.0"}`, CodeInvalidRequest, nil},
		{`{"jsonrpc":"2.0","id":4,"method":"bridge.publish","params":{"topic":"a b"}}`, CodeInvalidParams, 4.0},
		{`{"jsonrpc":"2.0","id":4,"method":"bridge.publish","params":{"topic":"bridge.x"}}`, CodeInvalidParams, 4.0},
		{`{"jsonrpc":"2.0","id":5,"method":"bridge.subscribe","params":{"patterns":["a..b"]}}`, CodeInvalidParams, 5.0},
		{`{"jsonrpc":"2.0","id":6,"method":"bridge.health","result":1}`, CodeInvalidRequest, 6.0},
	} {
		m := r.call(tc.frame)
		if errCode(m) != tc.code || m["id"] != tc.id {
			t.Errorf("%s: got %v, want code %d id %v", tc.frame, m, tc.code, tc.id)
		}
		health()
	}
	// Blank lines and stray responses are ignored.
	r.send("\n  \n")
	r.send(`{"jsonrpc":"2.0","id":99,"result":1}`)
	health()

	// An over-long frame is discarded up to its newline; the connection
	// and the broker go on.
	big := make([]byte, MaxFrame+10)
	for i := range big {
		big[i] = 'x'
	}
	big[len(big)-1] = '\n'
	go r.nc.Write(big)
	m := r.recv()
	if errCode(m) != CodeInvalidRequest || !strings.Contains(errMessage(m), "more than 16777216 bytes") || m["id"] != nil {
		t.Fatalf("over-long frame: %v", m)
	}
	health()
	// A frame of exactly MaxFrame bytes is fine.
	pad := strings.Repeat("x", MaxFrame-len(`{"jsonrpc":"2.0","id":"h","method":"bridge.health","params":{"pad":""}}`))
	if m := r.call(`{"jsonrpc":"2.0","id":"h","method":"bridge.health","params":{"pad":"` + pad + `"}}`); m["result"] == nil {
		t.Fatalf("frame of MaxFrame bytes: %v", errMessage(m))
	}
}

func TestPeerCredentials(t *testing.T) {
	path := sockPath(t)
	b := startBroker(t, path, func(s *Server) { s.uid = os.Getuid() + 1 })
	r := dialRaw(t, path)
	m := r.recv()
	if errCode(m) != CodeForbidden || !strings.Contains(errMessage(m), "permission denied") {
		t.Fatalf("refusal: %v", m)
	}
	if _, err := r.fr.ReadFrame(); err == nil {
		t.Fatal("the connection stayed open")
	}
	c := newClient(t, path)
	err := c.Call(context.Background(), "bridge.health", nil, nil)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeForbidden {
		if !errors.Is(err, ErrDisconnected) {
			t.Fatalf("call from another uid: %v", err)
		}
	}
	if n := b.health().Connections; n != 0 {
		t.Fatalf("%d connections", n)
	}
	pid, uid, err := peerCred(r.nc)
	if err != nil || uid != os.Getuid() || pid <= 0 {
		t.Fatalf("peerCred: %d %d %v", pid, uid, err)
	}
}

func TestHealthAndProviders(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	provide(t, newClient(t, path), echo, "t.b", "t.a")
	sub := newClient(t, path)
	if _, err := sub.Subscribe(context.Background(), "x.*", "y"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, path)
	var h Health
	if err := c.Call(context.Background(), "bridge.health", nil, &h); err != nil {
		t.Fatal(err)
	}
	// provider, subscriber, the provide helper's probe is closed, caller
	if !h.OK || h.PID != os.Getpid() || h.Providers != 2 || h.Subscriptions != 2 || h.Connections < 3 || h.UptimeMS < 0 {
		t.Fatalf("health: %+v", h)
	}
	var p struct{ Providers []ProviderInfo }
	if err := c.Call(context.Background(), "bridge.providers", nil, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Providers) != 2 || p.Providers[0].Method != "t.a" || p.Providers[1].Method != "t.b" ||
		p.Providers[0].PID != os.Getpid() || time.Since(p.Providers[0].Since) > time.Minute {
		t.Fatalf("providers: %+v", p)
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	path := sockPath(t)
	b := startBroker(t, path, func(s *Server) { s.queueBytes = 256 << 10 })
	slow := dialRaw(t, path)
	slow.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.subscribe","params":{"patterns":["t.*"]}}`)
	fast := newClient(t, path)
	events, err := fast.Subscribe(context.Background(), "t.*")
	if err != nil {
		t.Fatal(err)
	}
	// The publisher goes in step with the reading subscriber, which must
	// get every event while the other is dropped.
	pub := newClient(t, path)
	data := strings.Repeat("y", 4096)
	for i := 0; i < 500; i++ {
		if err := pub.Publish(context.Background(), "t.x", data); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, events); ev.Topic != "t.x" {
			t.Fatalf("event %d: %s", i, ev.Topic)
		}
	}
	if b.health().Dropped < 1 {
		t.Fatal("the slow subscriber was not dropped")
	}
	// The slow connection was closed: after what was buffered, EOF.
	slow.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := slow.fr.ReadFrame(); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			t.Fatal("the slow connection is still open")
		}
	}
}

func TestShutdownFailsCalls(t *testing.T) {
	path := sockPath(t)
	b := startBroker(t, path)
	started, _ := blocker(t, path)
	c := newClient(t, path)
	res := make(chan error, 1)
	go func() { res <- c.Call(context.Background(), "t.block", nil, nil) }()
	<-started
	b.stop()
	err := waitErr(t, res, "the call")
	var re *RPCError
	if !(errors.As(err, &re) && re.Code == CodeShuttingDown) && !errors.Is(err, ErrDisconnected) {
		t.Fatalf("call: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

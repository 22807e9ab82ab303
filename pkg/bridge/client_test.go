package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestNoBroker(t *testing.T) {
	path := sockPath(t)
	c := newClient(t, path)
	t0 := time.Now()
	err := c.Call(context.Background(), "bridge.health", nil, nil)
	if !errors.Is(err, ErrNoBroker) || !strings.Contains(err.Error(), "no broker is running at "+path) {
		t.Fatalf("call: %v", err)
	}
	if err := c.Publish(context.Background(), "t.x", 1); !errors.Is(err, ErrNoBroker) {
		t.Fatalf("publish: %v", err)
	}
	if c.Available() {
		t.Fatal("available without a broker")
	}
	// A stale socket file (nobody listening) is no broker either.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if err := c.Call(context.Background(), "bridge.health", nil, nil); !errors.Is(err, ErrNoBroker) {
		t.Fatalf("call on a stale socket: %v", err)
	}
	if d := time.Since(t0); d > 200*time.Millisecond {
		t.Fatalf("failing took %s", d)
	}

	// Subscribe and Provide wait for a broker in the background.
	events, err := c.Subscribe(context.Background(), "t.*")
	if err != nil {
		t.Fatal(err)
	}
	provided := make(chan error, 1)
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	go func() { provided <- c.Provide(pctx, []string{"t.echo"}, echo) }()

	startBroker(t, path)
	if ev := nextEvent(t, events); ev.Topic != TopicResubscribed {
		t.Fatalf("first event: %+v", ev)
	}
	if !c.Available() {
		t.Fatal("not available with a broker")
	}
	if err := c.Publish(context.Background(), "t.x", "hello"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Topic != "t.x" || string(ev.Data) != `"hello"` {
		t.Fatalf("event: %+v", ev)
	}
	eventually(t, "the provider", func() bool { return providerOf(c, "t.echo") })
	var s string
	if err := c.Call(context.Background(), "t.echo", "hi", &s); err != nil || s != "hi" {
		t.Fatalf("call: %v %q", err, s)
	}
	pcancel()
	if err := waitErr(t, provided, "Provide"); err != nil {
		t.Fatalf("provide returned %v", err)
	}
}

func nextEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the event channel was closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an event")
		return Event{}
	}
}

func TestPubSub(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	c := newClient(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	sessions, err := c.Subscribe(ctx, "session.*")
	if err != nil {
		t.Fatal(err)
	}
	queue, err := c.Subscribe(ctx, "queue.changed", "*.stopped")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, "a..b"); err == nil {
		t.Fatal("a bad pattern was accepted")
	}
	pub := newClient(t, path)
	for _, topic := range []string{"session.a", "queue.changed", "sessions.b", "session", "cron.stopped", "session.a.b", "queue.changed.x"} {
		if err := pub.Publish(ctx, topic, map[string]string{"t": topic}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx, "bridge.x", nil); err == nil {
		t.Fatal("published on a reserved topic")
	}
	var got []string
	for range 2 {
		got = append(got, nextEvent(t, sessions).Topic)
	}
	for range 2 {
		got = append(got, nextEvent(t, queue).Topic)
	}
	if want := "[session.a session.a.b queue.changed cron.stopped]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %v", got, want)
	}
	ev := Event{Topic: "x", Data: json.RawMessage(`{"t":"x"}`)}
	if b, _ := json.Marshal(ev); string(b) != `{"topic":"x","data":{"t":"x"}}` {
		t.Fatalf("event JSON: %s", b)
	}
	// Nothing else arrives, and the channels close with ctx.
	select {
	case ev := <-sessions:
		t.Fatalf("unexpected %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	for range sessions {
	}
	for range queue {
	}

	// By hand: delivered counts connections, data may be anything or
	// absent, unsubscribe stops delivery.
	r := dialRaw(t, path)
	if m := r.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.subscribe","params":{"patterns":["t.*","t.*","u"]}}`); fmt.Sprint(m["result"]) != "map[patterns:[t.* u]]" {
		t.Fatalf("subscribe: %v", m)
	}
	p := dialRaw(t, path)
	if m := p.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.publish","params":{"topic":"t.a"}}`); fmt.Sprint(m["result"]) != "map[delivered:1]" {
		t.Fatalf("publish: %v", m)
	}
	if m := r.recv(); m["method"] != "bridge.event" || fmt.Sprint(m["params"]) != "map[data:<nil> topic:t.a]" || m["id"] != nil {
		t.Fatalf("event: %v", m)
	}
	if m := r.call(`{"jsonrpc":"2.0","id":2,"method":"bridge.unsubscribe","params":{"patterns":["t.*"]}}`); fmt.Sprint(m["result"]) != "map[patterns:[u]]" {
		t.Fatalf("unsubscribe: %v", m)
	}
	p.send(`{"jsonrpc":"2.0","method":"bridge.publish","params":{"topic":"t.a","data":1}}`) // a notification: no answer
	if m := p.call(`{"jsonrpc":"2.0","id":2,"method":"bridge.publish","params":{"topic":"u","data":[1, 2]}}`); fmt.Sprint(m["result"]) != "map[delivered:1]" {
		t.Fatalf("publish: %v", m)
	}
	if m := r.recv(); fmt.Sprint(m["params"]) != "map[data:[1 2] topic:u]" {
		t.Fatalf("event: %v", m)
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, topic string
		want           bool
	}{
		{"queue.changed", "queue.changed", true},
		{"queue.changed", "queue.changed.x", false},
		{"queue.changed", "queue", false},
		{"session.*", "session.a", true},
		{"session.*", "session.a.b", true},
		{"session.*", "session", false},
		{"session.*", "sessions.a", false},
		{"*", "a", true},
		{"*", "a.b.c", true},
		{"*.changed", "queue.changed", true},
		{"*.changed", "a.b.changed", false},
		{"*.changed", "changed", false},
		{"session.*.done", "session.a.done", true},
		{"session.*.done", "session.a.b.done", false},
		{"sess*.a", "session.a", true},
		{"sess*.a", "sess.a", true},
		{"sess*.a", "xsession.a", false},
		{"*ion.a", "session.a", true},
		{"s*s*n.*", "session.x", true},
		{"s*x", "session", false},
		{"a.b*", "a.b", true},
		{"a.b*", "a.bc", true},
		{"a.b*", "a.b.c", false},
		{"a.*.*", "a.b.c", true},
		{"a.*.*", "a.b.c.d", true},
		{"a.*.*", "a.b", false},
	} {
		if got := Match(tc.pattern, tc.topic); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.topic, got, tc.want)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a b", "a\tb", strings.Repeat("a", MaxTopic+1)} {
		if CheckPattern(bad) == nil || CheckTopic(bad) == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if CheckTopic("a.*") == nil || CheckTopic("bridge.x") == nil || CheckPattern("a.*") != nil || CheckPattern("bridge.*") != nil {
		t.Error("'*' or bridge. checks")
	}
}

// TestBrokerRestart stops the broker while a call is in flight, starts a
// new one on the same path, and checks that clients carry on.
func TestBrokerRestart(t *testing.T) {
	path := sockPath(t)
	b := startBroker(t, path)
	started := make(chan struct{}, 10)
	provide(t, newClient(t, path), func(ctx context.Context, method string, params json.RawMessage) (any, error) {
		if method == "t.block" {
			started <- struct{}{}
			<-ctx.Done()
		}
		return params, nil
	}, "t.block", "t.echo")
	c := newClient(t, path)
	events, err := c.Subscribe(context.Background(), "t.*")
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() { res <- c.Call(context.Background(), "t.block", nil, nil) }()
	<-started
	b.stop()
	if err := waitErr(t, res, "the call"); err == nil {
		t.Fatal("the call in flight succeeded")
	}
	if err := c.Call(context.Background(), "t.echo", 1, nil); !errors.Is(err, ErrNoBroker) {
		t.Fatalf("call without a broker: %v", err)
	}

	startBroker(t, path)
	eventually(t, "the provider to come back", func() bool { return providerOf(c, "t.echo") })
	var n int
	if err := c.Call(context.Background(), "t.echo", 2, &n); err != nil || n != 2 {
		t.Fatalf("call after the restart: %v %d", err, n)
	}
	if ev := nextEvent(t, events); ev.Topic != TopicResubscribed {
		t.Fatalf("event: %+v", ev)
	}
	if err := c.Publish(context.Background(), "t.after", 3); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Topic != "t.after" {
		t.Fatalf("event: %+v", ev)
	}
}

// TestMain lets the test binary be the broker of TestBrokerKilled, in a
// child process that can be killed for real (BRIDGE_HELPER_SOCKET set).
func TestMain(m *testing.M) {
	if path := os.Getenv("BRIDGE_HELPER_SOCKET"); path != "" {
		ln, err := Listen(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		NewServer(zerolog.Nop()).Serve(context.Background(), ln)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestBrokerKilled(t *testing.T) {
	path := sockPath(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BRIDGE_HELPER_SOCKET="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	c := newClient(t, path)
	eventually(t, "the child broker", c.Available)
	started := make(chan struct{}, 1)
	provide(t, newClient(t, path), func(ctx context.Context, method string, params json.RawMessage) (any, error) {
		if method == "t.block" {
			started <- struct{}{}
			<-ctx.Done()
		}
		return params, nil
	}, "t.block", "t.echo")
	res := make(chan error, 1)
	go func() { res <- c.Call(context.Background(), "t.block", nil, nil) }()
	<-started
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if err := waitErr(t, res, "the call"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("call in flight: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the killed broker's socket should be left behind: %v", err)
	}
	if err := c.Call(context.Background(), "t.echo", 1, nil); !errors.Is(err, ErrNoBroker) {
		t.Fatalf("call to a dead broker: %v", err)
	}
	startBroker(t, path) // removes the stale socket
	eventually(t, "the provider to come back", func() bool { return providerOf(c, "t.echo") })
	var n int
	if err := c.Call(context.Background(), "t.echo", 2, &n); err != nil || n != 2 {
		t.Fatalf("call after the restart: %v %d", err, n)
	}
}

// TestSocketReplaced moves a live broker's socket aside and starts another
// broker on the path: clients follow the file.
func TestSocketReplaced(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	c := newClient(t, path)
	events, err := c.Subscribe(context.Background(), "t.*")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(context.Background(), "bridge.health", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(filepath.Dir(path), "old.sock")); err != nil {
		t.Fatal(err)
	}
	// A missing file is not a replacement: the old broker still answers.
	if err := c.Call(context.Background(), "bridge.health", nil, nil); err != nil {
		t.Fatalf("call with the file moved: %v", err)
	}
	startBroker(t, path)
	r := dialRaw(t, path)
	r.call(`{"jsonrpc":"2.0","id":1,"method":"bridge.provide","params":{"methods":["t.new"]}}`)
	// Only the new broker has t.new.
	res := make(chan error, 1)
	var answer string
	go func() { res <- c.Call(context.Background(), "t.new", nil, &answer) }()
	m := r.recv()
	if m["method"] != "t.new" {
		t.Fatalf("new broker's provider got %v", m)
	}
	r.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%v,"result":"from the new broker"}`, m["id"]))
	if err := waitErr(t, res, "the call"); err != nil || answer != "from the new broker" {
		t.Fatalf("call: %v %q", err, answer)
	}
	// The subscription moves over within a watch interval.
	if ev := nextEvent(t, events); ev.Topic != TopicResubscribed {
		t.Fatalf("event: %+v", ev)
	}
	if err := c.Publish(context.Background(), "t.x", 1); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, events); ev.Topic != "t.x" {
		t.Fatalf("event: %+v", ev)
	}
}

func TestClientClose(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	c := Dial(path)
	events, err := c.Subscribe(context.Background(), "t.*")
	if err != nil {
		t.Fatal(err)
	}
	provided := make(chan error, 1)
	go func() { provided <- c.Provide(context.Background(), []string{"t.x"}, echo) }()
	eventually(t, "the provider", func() bool { return providerOf(c, "t.x") })
	c.Close()
	for range events {
	}
	if err := waitErr(t, provided, "Provide"); !errors.Is(err, ErrClosed) {
		t.Fatalf("provide: %v", err)
	}
	if err := c.Call(context.Background(), "bridge.health", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("call: %v", err)
	}
	if _, err := c.Subscribe(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe: %v", err)
	}
}

func TestListen(t *testing.T) {
	path := sockPath(t)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket: %v %v", fi.Mode(), err)
	}
	go func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(ln)
	_, err = Listen(path)
	var ar *AlreadyRunningError
	if !errors.As(err, &ar) || err.Error() != "a broker already serves "+path {
		t.Fatalf("second listen: %v", err)
	}
	ln.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("close left the socket: %v", err)
	}

	// A stale socket is replaced.
	stale, _ := net.Listen("unix", path)
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	ln, err = Listen(path)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	// Closing does not remove a socket that replaced ours.
	os.Remove(path)
	other, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing the old listener removed the new socket: %v", err)
	}
	other.Close()

	// Not a socket: left alone.
	os.WriteFile(path, []byte("x"), 0o600)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("listen over a file: %v", err)
	}
	long := "/tmp/" + strings.Repeat("d", 100) + "/bridge.sock"
	_, err = Listen(long)
	var tl *PathTooLongError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "over the limit of 107") {
		t.Fatalf("long path: %v", err)
	}
}

// A subscription that ends while events stream in closes its channel
// without a delivery racing the close (that was a send on a closed
// channel).
func TestSubscriptionEndsUnderLoad(t *testing.T) {
	path := sockPath(t)
	startBroker(t, path)
	pub := Dial(path)
	defer pub.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				pub.Publish(context.Background(), "load.x", map[string]int{"n": 1})
			}
		}
	}()
	for i := 0; i < 30; i++ {
		c := Dial(path)
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := c.Subscribe(ctx, "load.*")
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		cancel()
		for range ch {
		}
		c.Close()
	}
}

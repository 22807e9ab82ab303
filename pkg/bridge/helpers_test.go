package bridge

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// sockPath returns a socket path in a fresh short directory (sun_path is
// small, and t.TempDir names can be long).
func sockPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "br")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "bridge.sock")
}

// broker is an in-process broker on a real socket.
type broker struct {
	*Server
	stop func()
}

// startBroker serves on path until the test ends or stop is called.
func startBroker(t testing.TB, path string, tweak ...func(*Server)) *broker {
	t.Helper()
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	log := zerolog.Nop()
	if tt, ok := t.(*testing.T); ok && testing.Verbose() {
		log = zerolog.New(zerolog.NewTestWriter(tt)).Level(zerolog.DebugLevel)
	}
	s := NewServer(log)
	for _, f := range tweak {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	stopped := false
	b := &broker{Server: s}
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(b.stop)
	return b
}

// newClient returns a client closed at the end of the test.
func newClient(t testing.TB, path string) *Client {
	t.Helper()
	c := Dial(path)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn speaks the wire protocol by hand.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	fr *frameReader
}

func dialRaw(t testing.TB, path string) *rawConn {
	t.Helper()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, fr: newFrameReader(nc, 2*MaxFrame)}
}

func (r *rawConn) send(frame string) {
	r.t.Helper()
	if !strings.HasSuffix(frame, "\n") {
		frame += "\n"
	}
	if _, err := r.nc.Write([]byte(frame)); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads the next message as a generic map.
func (r *rawConn) recv() map[string]any {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := r.fr.ReadFrame()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(f, &m); err != nil {
		r.t.Fatalf("frame %q: %v", f, err)
	}
	return m
}

// call sends a request and returns the next message.
func (r *rawConn) call(frame string) map[string]any {
	r.t.Helper()
	r.send(frame)
	return r.recv()
}

func errCode(m map[string]any) int {
	e, ok := m["error"].(map[string]any)
	if !ok {
		return 0
	}
	return int(e["code"].(float64))
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// eventually retries f until it returns true or 5 s pass.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func echo(ctx context.Context, method string, params json.RawMessage) (any, error) {
	return params, nil
}

// provide runs Provide in the background until the test ends, and waits
// until the broker has the methods.
func provide(t testing.TB, c *Client, handler func(context.Context, string, json.RawMessage) (any, error), methods ...string) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Provide(ctx, methods, handler) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	probe := Dial(c.Socket())
	defer probe.Close()
	eventually(t, "provide "+methods[0], func() bool {
		select {
		case err := <-done:
			t.Fatalf("provide returned early: %v", err)
		default:
		}
		var r struct{ Providers []ProviderInfo }
		if probe.Call(context.Background(), "bridge.providers", nil, &r) != nil {
			return false
		}
		for _, p := range r.Providers {
			if p.Method == methods[0] {
				return true
			}
		}
		return false
	})
	return cancel
}

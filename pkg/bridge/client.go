package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// ErrNoBroker means that no broker answers on the socket: the file is
// absent, or nothing listens behind it. Callers fall back to the files.
var ErrNoBroker = errors.New("no broker is running")

// ErrDisconnected means the connection to the broker was lost while a call
// was in flight; the call may or may not have run, so it is not retried.
var ErrDisconnected = errors.New("the connection to the broker was lost during the call")

// ErrClosed is returned by a Client after Close.
var ErrClosed = errors.New("the bridge client is closed")

// dialTimeout bounds a dial; a Unix dial fails at once when nobody listens.
const dialTimeout = 2 * time.Second

// setupTimeout bounds the provide and subscribe exchanges that set up a
// background connection.
const setupTimeout = 10 * time.Second

// Backoff of background reconnection.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// watchInterval is how often a background connection checks whether the
// socket file was replaced.
const watchInterval = time.Second

// Event is one published event.
type Event struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// Client talks to the broker. It is safe for concurrent use: calls from
// many goroutines share one connection, multiplexed by id; each Subscribe
// and each Provide has a connection of its own, so that a slow subscriber
// or a busy provider never holds up the calls.
type Client struct {
	path   string
	ctx    context.Context // done when the client is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	shared *clientConn
	closed bool
}

// Dial returns a client of the broker at socket. It never fails: it
// connects on first use, and again when the broker restarts or the socket
// file is replaced.
func Dial(socket string) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{path: socket, ctx: ctx, cancel: cancel}
}

// Socket is the path the client dials.
func (c *Client) Socket() string { return c.path }

// Close closes the client's connections, ends its subscriptions (their
// channels are closed) and makes Provide return.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	if c.shared != nil {
		c.shared.close(ErrClosed)
		c.shared = nil
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

// Available reports whether a broker answers now (connecting if needed).
func (c *Client) Available() bool {
	_, err := c.conn()
	return err == nil
}

// conn returns the shared connection, (re)connecting when there is none,
// it broke, or the socket file now is another file.
func (c *Client) conn() (*clientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	if cc := c.shared; cc != nil {
		if !cc.isDone() && !cc.replaced() {
			return cc, nil
		}
		cc.close(ErrDisconnected)
		c.shared = nil
	}
	cc, err := c.dial(c.ctx, nil)
	if err != nil {
		return nil, err
	}
	c.shared = cc
	return cc, nil
}

// drop forgets the shared connection if it still is cc.
func (c *Client) drop(cc *clientConn) {
	c.mu.Lock()
	if c.shared == cc {
		c.shared = nil
	}
	c.mu.Unlock()
	cc.close(ErrDisconnected)
}

// Call calls method with params (any JSON-encodable value, or nil) and
// decodes the result into result (a pointer, or nil to discard it). The
// call's deadline is ctx's; without one the broker applies DefaultTimeout
// (30 s). It returns ErrNoBroker at once when no broker runs, an *RPCError
// when the broker or the provider answered with an error (errors.Is(err,
// context.DeadlineExceeded) holds for a timeout), ErrDisconnected when the
// broker went away mid-call, or ctx's error; when ctx ends first the call
// is cancelled at its provider.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := marshalParams(params)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		cc, err := c.conn()
		if err != nil {
			return err
		}
		err = cc.call(ctx, method, raw, result)
		var se *sendError
		if errors.As(err, &se) && attempt == 0 {
			// The request never left: the connection had died under us
			// (a restarted broker). One fresh connection is safe.
			c.drop(cc)
			continue
		}
		return err
	}
}

// Publish publishes data (any JSON-encodable value) on topic. It returns
// ErrNoBroker when no broker runs; delivery to subscribers is best effort.
func (c *Client) Publish(ctx context.Context, topic string, data any) error {
	if err := CheckTopic(topic); err != nil {
		return err
	}
	d, err := marshal(data)
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return c.Call(ctx, "bridge.publish", struct {
		Topic string          `json:"topic"`
		Data  json.RawMessage `json:"data"`
	}{topic, d}, nil)
}

// Subscribe delivers the events whose topic matches one of patterns (see
// Match) on the returned channel, which is closed when ctx is done or the
// client is closed. It fails only for a bad pattern. If a broker runs, the
// subscription is in place when Subscribe returns; if none does, or the
// connection is lost later (the broker restarted, or dropped this
// subscriber for not keeping up), Subscribe keeps reconnecting in the
// background, and each time it is subscribed again it first delivers an
// Event with Topic TopicResubscribed: events of the gap were lost. Use
// Available to learn whether a broker runs now. Read the channel promptly:
// while it is full the broker's queue for this subscription fills up.
func (c *Client) Subscribe(ctx context.Context, patterns ...string) (<-chan Event, error) {
	if len(patterns) == 0 {
		return nil, errors.New("subscribe: no pattern")
	}
	for _, p := range patterns {
		if err := CheckPattern(p); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	ch := make(chan Event, 256)
	s := &subscription{c: c, ctx: ctx, patterns: patterns, ch: ch}
	cc, err := s.connect()
	var re *RPCError
	if errors.As(err, &re) {
		stop()
		cancel()
		c.wg.Done()
		return nil, err
	}
	go func() {
		defer c.wg.Done()
		defer stop()
		defer cancel()
		defer s.close()
		s.run(cc)
	}()
	return ch, nil
}

type subscription struct {
	c        *Client
	ctx      context.Context
	patterns []string
	ch       chan Event

	// mu orders deliveries, which a connection's read loop may still be
	// making while the subscription ends, before the close of ch.
	mu     sync.Mutex
	closed bool
}

// close closes the channel once no delivery is under way; it runs after
// ctx ended, so a blocked delivery returns at once.
func (s *subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	close(s.ch)
}

// connect opens the subscription's connection and subscribes.
func (s *subscription) connect() (*clientConn, error) {
	cc, err := s.c.dial(s.ctx, s.deliver)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, setupTimeout)
	defer cancel()
	if err := cc.call(ctx, "bridge.subscribe", mustMarshal(map[string][]string{"patterns": s.patterns}), nil); err != nil {
		cc.close(err)
		return nil, err
	}
	return cc, nil
}

func (s *subscription) deliver(_ *clientConn, m *message) {
	if m.Method != "bridge.event" {
		return
	}
	var ev Event
	if json.Unmarshal(m.Params, &ev) != nil || ev.Topic == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.ch <- ev:
	case <-s.ctx.Done():
	}
}

func (s *subscription) run(cc *clientConn) {
	backoff := minBackoff
	for {
		if cc != nil {
			backoff = minBackoff
			s.c.watch(s.ctx, cc)
			cc.close(ErrDisconnected)
			cc = nil
		}
		if !sleep(s.ctx, backoff) {
			return
		}
		backoff = min(backoff*2, maxBackoff)
		var err error
		if cc, err = s.connect(); err != nil {
			cc = nil
			continue
		}
		select {
		case s.ch <- Event{Topic: TopicResubscribed}:
		case <-s.ctx.Done():
			cc.close(ErrClosed)
			return
		}
	}
}

// Provide serves methods: the broker routes every call of them to handler,
// each in a goroutine of its own, with a context that ends at the call's
// deadline, when the caller cancels or disconnects, or when the connection
// to the broker is lost. A handler's *RPCError goes back as it is; another
// error becomes CodeHandlerError with the error's text; the result is
// encoded as JSON. Nothing is sent for a handler that returns after its
// context ended: the broker answers that caller itself.
//
// Provide blocks until ctx is done (then it returns nil) or the client is
// closed (ErrClosed). It connects in the background, retrying while no
// broker runs (see Available), and provides again after the broker
// restarts. If the broker refuses the methods the first time it sees them
// (another connection provides one: CodeConflict), Provide returns that
// error; a refusal after a reconnection is retried every second.
func (c *Client) Provide(ctx context.Context, methods []string, handler func(ctx context.Context, method string, params json.RawMessage) (any, error)) error {
	if len(methods) == 0 {
		return errors.New("provide: no method")
	}
	for _, m := range methods {
		if err := CheckMethod(m); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	p := &provider{handler: handler, inflight: map[callKey]context.CancelFunc{}}
	req := mustMarshal(map[string][]string{"methods": methods})
	first := true
	backoff := minBackoff
	for {
		cc, err := c.dial(ctx, p.dispatch)
		if err == nil {
			sctx, scancel := context.WithTimeout(ctx, setupTimeout)
			err = cc.call(sctx, "bridge.provide", req, nil)
			scancel()
			var re *RPCError
			switch {
			case err == nil:
				first = false
				backoff = minBackoff
				c.watch(ctx, cc)
			case errors.As(err, &re) && first:
				cc.close(err)
				return err
			case errors.As(err, &re):
				backoff = maxBackoff
			}
			cc.close(ErrDisconnected)
		}
		if !sleep(ctx, backoff) {
			if c.ctx.Err() != nil {
				return ErrClosed
			}
			return nil
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

type provider struct {
	handler func(ctx context.Context, method string, params json.RawMessage) (any, error)

	mu       sync.Mutex
	inflight map[callKey]context.CancelFunc
}

// callKey names a call in flight at a provider: broker ids start again at
// 1 with every broker, so the connection is part of the key.
type callKey struct {
	cc *clientConn
	id uint64
}

// dispatch runs in the connection's read loop: it starts handlers and
// cancels them, and never blocks.
func (p *provider) dispatch(cc *clientConn, m *message) {
	if m.Method == "bridge.cancel" {
		var q struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(m.Params, &q) != nil {
			return
		}
		if id, ok := parseUintID(q.ID); ok {
			p.mu.Lock()
			cancel := p.inflight[callKey{cc, id}]
			p.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
		return
	}
	if m.Method == "bridge.event" {
		return
	}
	ctx, cancel := context.WithCancel(cc.ctx)
	if m.TimeoutMS > 0 {
		ctx, cancel = context.WithTimeout(cc.ctx, time.Duration(m.TimeoutMS)*time.Millisecond)
	}
	if m.CallerPID > 0 {
		ctx = context.WithValue(ctx, callerKey{}, m.CallerPID)
	}
	id, tracked := parseUintID(m.ID)
	if tracked {
		p.mu.Lock()
		p.inflight[callKey{cc, id}] = cancel
		p.mu.Unlock()
	}
	go func() {
		defer cancel()
		res, err := p.handler(ctx, m.Method, m.Params)
		if tracked {
			p.mu.Lock()
			delete(p.inflight, callKey{cc, id})
			p.mu.Unlock()
		}
		if m.ID == nil || ctx.Err() != nil {
			// Past its deadline, cancelled, or its connection is gone:
			// the broker answers the caller.
			return
		}
		var frame []byte
		if err != nil {
			var re *RPCError
			if !errors.As(err, &re) {
				re = &RPCError{Code: CodeHandlerError, Message: err.Error()}
			}
			frame = appendError(nil, m.ID, re)
		} else if b, merr := marshal(res); merr != nil {
			frame = appendError(nil, m.ID, rpcErrorf(CodeInternalError, "%s: cannot encode the result: %v", m.Method, merr))
		} else {
			frame = appendResult(make([]byte, 0, 48+len(b)), m.ID, b)
		}
		cc.write(frame)
	}()
}

// watch returns when cc breaks, ctx is done, or the socket file is
// replaced by another (a new broker).
func (c *Client) watch(ctx context.Context, cc *clientConn) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-cc.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if cc.replaced() {
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func marshalParams(params any) (json.RawMessage, error) {
	if params == nil {
		return nil, nil
	}
	b, err := marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// marshal is json.Marshal without HTML escaping, so that text arrives as
// it was sent ("<" stays "<"); the output is compact, fit for a frame.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// dial connects to the broker; messages with a method (requests and
// notifications from the broker) go to onMessage, in the read loop. The
// connection's context has ctx's values and ends when the connection does.
func (c *Client) dial(ctx context.Context, onMessage func(*clientConn, *message)) (*clientConn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, noBroker(c.path, err)
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cc := &clientConn{
		nc: nc, path: c.path, file: statID(c.path),
		ctx: cctx, cancel: cancel,
		pending:   map[uint64]chan *message{},
		done:      make(chan struct{}),
		onMessage: onMessage,
	}
	go cc.readLoop()
	return cc, nil
}

func noBroker(path string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("%w at %s (%v)", ErrNoBroker, path, errno)
	}
	return fmt.Errorf("%w at %s (%v)", ErrNoBroker, path, err)
}

// sendError is a write that failed: the request did not reach the broker.
type sendError struct{ err error }

func (e *sendError) Error() string { return ErrDisconnected.Error() }
func (e *sendError) Unwrap() error { return ErrDisconnected }

// clientConn is one connection to the broker.
type clientConn struct {
	nc     net.Conn
	path   string
	file   fileID
	ctx    context.Context // ends when the connection does
	cancel context.CancelFunc

	wmu sync.Mutex

	mu      sync.Mutex
	pending map[uint64]chan *message
	nextID  uint64
	err     error         // why it ended
	lastErr *RPCError     // the broker's refusal of this peer
	done    chan struct{} // closed when the connection ends

	onMessage func(*clientConn, *message)
}

func (cc *clientConn) isDone() bool {
	select {
	case <-cc.done:
		return true
	default:
		return false
	}
}

// replaced reports whether the socket path now names another file than
// the one connected to. A missing file is not a replacement: the broker
// still answers on this connection.
func (cc *clientConn) replaced() bool {
	id := statID(cc.path)
	return id != (fileID{}) && id != cc.file
}

func (cc *clientConn) close(err error) {
	cc.mu.Lock()
	select {
	case <-cc.done:
		cc.mu.Unlock()
		return
	default:
	}
	if cc.err == nil {
		cc.err = err
	}
	close(cc.done)
	cc.mu.Unlock()
	// Close before cancelling: handlers that end now cannot answer, and
	// the broker tells their callers that the provider is gone.
	cc.nc.Close()
	cc.cancel()
}

// lost is the error of calls in flight when the connection ended.
func (cc *clientConn) lost() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.lastErr != nil {
		return cc.lastErr
	}
	if errors.Is(cc.err, ErrClosed) {
		return ErrClosed
	}
	return ErrDisconnected
}

func (cc *clientConn) write(frame []byte) error {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	_, err := cc.nc.Write(frame)
	return err
}

func (cc *clientConn) readLoop() {
	fr := newFrameReader(cc.nc, 2*MaxFrame)
	for {
		frame, err := fr.ReadFrame()
		if errors.Is(err, errFrameTooLong) {
			continue
		}
		if err != nil {
			cc.close(err)
			return
		}
		m, rerr := decode(frame)
		if rerr != nil {
			continue
		}
		if m.Method != "" {
			if cc.onMessage != nil {
				cc.onMessage(cc, m)
			}
			continue
		}
		id, ok := parseUintID(m.ID)
		if !ok {
			if m.Error != nil && m.Error.Code == CodeForbidden {
				cc.mu.Lock()
				cc.lastErr = m.Error
				cc.mu.Unlock()
			}
			continue
		}
		cc.mu.Lock()
		ch := cc.pending[id]
		delete(cc.pending, id)
		cc.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// call sends one request and waits for its answer.
func (cc *clientConn) call(ctx context.Context, method string, params json.RawMessage, result any) error {
	var timeoutMS int64
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return context.DeadlineExceeded
		}
		timeoutMS = int64((left + time.Millisecond - 1) / time.Millisecond)
	}
	ch := make(chan *message, 1)
	cc.mu.Lock()
	if cc.isDone() {
		cc.mu.Unlock()
		return &sendError{cc.err}
	}
	cc.nextID++
	id := cc.nextID
	cc.pending[id] = ch
	cc.mu.Unlock()
	idRaw := uintID(id)
	if err := cc.write(appendRequest(make([]byte, 0, 80+len(method)+len(params)), idRaw, method, params, timeoutMS)); err != nil {
		cc.forget(id)
		cc.close(err)
		return &sendError{err}
	}
	var m *message
	select {
	case m = <-ch:
	case <-ctx.Done():
		cc.forget(id)
		cc.write(appendRequest(nil, nil, "bridge.cancel", append(append([]byte(`{"id":`), idRaw...), '}'), 0))
		return ctx.Err()
	case <-cc.done:
		select {
		case m = <-ch:
		default:
			return cc.lost()
		}
	}
	if m.Error != nil {
		return m.Error
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(m.Result, result); err != nil {
		return fmt.Errorf("%s: decode the result: %w", method, err)
	}
	return nil
}

func (cc *clientConn) forget(id uint64) {
	cc.mu.Lock()
	delete(cc.pending, id)
	cc.mu.Unlock()
}

type callerKey struct{}

// CallerPID returns, inside a Provide handler, the pid of the process that
// made the call (from the broker's SO_PEERCRED check), or 0 if unknown.
func CallerPID(ctx context.Context) int {
	pid, _ := ctx.Value(callerKey{}).(int)
	return pid
}

// HealthMethod is the method a daemon named piece provides so that a
// supervisor can check it over the broker: "<piece>.health".
func HealthMethod(piece string) string { return piece + ".health" }

// ProvideHealth answers HealthMethod(piece) with {"ok":true,"pid":N,...}
// until ctx is done, re-providing after broker restarts. Daemons run it in
// a goroutine.
func (c *Client) ProvideHealth(ctx context.Context, piece string, extra func() map[string]any) {
	started := time.Now()
	c.Provide(ctx, []string{HealthMethod(piece)}, func(ctx context.Context, method string, params json.RawMessage) (any, error) {
		h := map[string]any{"ok": true, "pid": os.Getpid(), "uptime_ms": time.Since(started).Milliseconds()}
		if extra != nil {
			for k, v := range extra() {
				h[k] = v
			}
		}
		return h, nil
	})
}

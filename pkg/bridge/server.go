package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// DefaultTimeout is the deadline of a routed call that sets no timeout_ms.
const DefaultTimeout = 30 * time.Second

// MaxTimeout caps a call's timeout_ms.
const MaxTimeout = 7 * 24 * time.Hour

// Bounds of a connection's queue of frames to write; a connection that
// overflows them is closed.
const (
	QueueFrames = 4096
	QueueBytes  = 64 << 20
)

// shutdownGrace bounds how long a stopping broker writes what is queued.
const shutdownGrace = time.Second

// Server is the broker. Make one with NewServer and run it with Serve.
type Server struct {
	// Owners reserves namespaces of methods to programs (see Owner); set
	// it before Serve. Without it any peer may provide any method.
	Owners []Owner

	log         zerolog.Logger
	uid         int // peers must run as this uid
	queueFrames int
	queueBytes  int64

	start   time.Time
	dropped atomic.Int64
	wg      sync.WaitGroup

	mu        sync.Mutex
	conns     map[*conn]struct{}
	providers map[string]provision
	calls     map[uint64]*call // by broker id
	nextID    uint64
	nextConn  uint64
	stopping  bool

	subMu sync.RWMutex
	subs  map[*conn][]string
}

type provision struct {
	c     *conn
	since time.Time
}

// call is a routed request in flight.
type call struct {
	method   string
	caller   *conn
	callerID json.RawMessage
	provider *conn
	timeout  time.Duration
	timer    *time.Timer
}

// NewServer returns a broker that logs to log and accepts peers of the
// current uid.
func NewServer(log zerolog.Logger) *Server {
	return &Server{
		log:         log,
		uid:         os.Getuid(),
		queueFrames: QueueFrames,
		queueBytes:  QueueBytes,
		start:       time.Now(),
		conns:       map[*conn]struct{}{},
		providers:   map[string]provision{},
		calls:       map[uint64]*call{},
		subs:        map[*conn][]string{},
	}
}

// Serve accepts connections on ln until ctx is done, then stops: it closes
// ln (which removes a socket made by Listen), fails the calls in flight
// with CodeShuttingDown, writes what is queued (for at most a second) and
// closes every connection. It returns nil after ctx is done, or the error
// that stopped it accepting.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.start = time.Now()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		nc, aerr := ln.Accept()
		if aerr == nil {
			s.wg.Add(1)
			go s.serveConn(nc)
			continue
		}
		if ctx.Err() != nil || errors.Is(aerr, net.ErrClosed) {
			if ctx.Err() == nil {
				err = aerr
			}
			break
		}
		// Out of file descriptors and the like: wait, do not spin.
		s.log.Warn().Err(aerr).Msg("accept failed")
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	ln.Close()
	s.shutdown()
	s.wg.Wait()
	return err
}

func (s *Server) shutdown() {
	s.mu.Lock()
	s.stopping = true
	var sends []outFrame
	for id, cl := range s.calls {
		s.forget(id, cl)
		sends = append(sends, outFrame{cl.caller, appendError(nil, cl.callerID,
			rpcErrorf(CodeShuttingDown, "%s: the broker is stopping", cl.method))})
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, f := range sends {
		f.c.send(f.b)
	}
	for _, c := range conns {
		c.finish()
	}
}

type outFrame struct {
	c *conn
	b []byte
}

// forget removes a call from every index; s.mu must be held.
func (s *Server) forget(id uint64, cl *call) {
	delete(s.calls, id)
	delete(cl.caller.calling, id)
	delete(cl.provider.serving, id)
	if cl.timer != nil {
		cl.timer.Stop()
	}
}

func (s *Server) serveConn(nc net.Conn) {
	defer s.wg.Done()
	pid, uid, err := peerCred(nc)
	if err != nil || uid != s.uid {
		s.log.Warn().Int("pid", pid).Int("uid", uid).AnErr("cred", err).Msg("refused a peer of another user")
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write(appendError(nil, nil, rpcErrorf(CodeForbidden, "permission denied: this broker serves uid %d only", s.uid)))
		nc.Close()
		return
	}
	c := &conn{
		s: s, nc: nc, pid: pid, since: time.Now(),
		out:     make(chan []byte, s.queueFrames),
		quit:    make(chan struct{}),
		calling: map[uint64]*call{},
		serving: map[uint64]*call{},
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.nextConn++
	c.id = s.nextConn
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.log.Debug().Uint64("conn", c.id).Int("pid", pid).Msg("connected")

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.writeLoop()
	}()
	defer s.drop(c)
	fr := newFrameReader(nc, MaxFrame)
	for {
		frame, err := fr.ReadFrame()
		if errors.Is(err, errFrameTooLong) {
			c.send(appendError(nil, nil, rpcErrorf(CodeInvalidRequest, "invalid request: a frame of more than %d bytes was discarded", MaxFrame)))
			continue
		}
		if err != nil {
			return
		}
		if len(bytes.TrimSpace(frame)) == 0 {
			continue
		}
		s.handle(c, frame)
	}
}

// drop forgets a closed connection: its methods are released, the calls
// it serves fail, the calls it made are cancelled at their providers.
func (s *Server) drop(c *conn) {
	c.close()
	var sends []outFrame
	s.mu.Lock()
	delete(s.conns, c)
	for _, m := range c.methods {
		if p := s.providers[m]; p.c == c {
			delete(s.providers, m)
		}
	}
	for id, cl := range c.serving {
		s.forget(id, cl)
		sends = append(sends, outFrame{cl.caller, appendError(nil, cl.callerID,
			rpcErrorf(CodeProviderGone, "%s: the provider (pid %d) disconnected before answering", cl.method, c.pid))})
	}
	for id, cl := range c.calling {
		s.forget(id, cl)
		sends = append(sends, outFrame{cl.provider, cancelFrame(id)})
	}
	s.mu.Unlock()
	s.subMu.Lock()
	delete(s.subs, c)
	s.subMu.Unlock()
	for _, f := range sends {
		f.c.send(f.b)
	}
	if len(c.methods) > 0 {
		s.log.Info().Uint64("conn", c.id).Int("pid", c.pid).Strs("methods", c.methods).Msg("provider gone")
	}
	s.log.Debug().Uint64("conn", c.id).Int("pid", c.pid).Msg("disconnected")
}

func cancelFrame(id uint64) []byte {
	b := append([]byte(nil), `{"jsonrpc":"2.0","method":"bridge.cancel","params":{"id":`...)
	b = append(b, uintID(id)...)
	return append(b, "}}\n"...)
}

func (s *Server) handle(c *conn, frame []byte) {
	m, rerr := decode(frame)
	if rerr != nil {
		var id json.RawMessage
		if m != nil {
			id = m.ID
		}
		c.send(appendError(nil, id, rerr))
		return
	}
	switch {
	case m.Method == "":
		s.answer(c, m)
	case strings.HasPrefix(m.Method, "bridge."):
		s.builtin(c, m)
	default:
		s.route(c, m)
	}
}

// route forwards a call to its provider.
func (s *Server) route(c *conn, m *message) {
	timeout := DefaultTimeout
	if m.TimeoutMS > 0 {
		timeout = min(time.Duration(m.TimeoutMS)*time.Millisecond, MaxTimeout)
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		c.replyErr(m, rpcErrorf(CodeShuttingDown, "%s: the broker is stopping", m.Method))
		return
	}
	p, ok := s.providers[m.Method]
	if !ok {
		s.mu.Unlock()
		c.replyErr(m, noProvider(m.Method))
		return
	}
	if m.ID == nil {
		s.mu.Unlock()
		p.c.send(appendRoutedRequest(nil, nil, m.Method, m.Params, 0, c.pid))
		return
	}
	s.nextID++
	id := s.nextID
	cl := &call{method: m.Method, caller: c, callerID: m.ID, provider: p.c, timeout: timeout}
	s.calls[id] = cl
	c.calling[id] = cl
	p.c.serving[id] = cl
	cl.timer = time.AfterFunc(timeout, func() { s.expire(id) })
	s.mu.Unlock()
	p.c.send(appendRoutedRequest(make([]byte, 0, 112+len(m.Params)), uintID(id), m.Method, m.Params, timeout.Milliseconds(), c.pid))
}

// answer routes a provider's answer back to the caller.
func (s *Server) answer(c *conn, m *message) {
	id, ok := parseUintID(m.ID)
	if !ok {
		return
	}
	s.mu.Lock()
	cl := s.calls[id]
	if cl == nil || cl.provider != c {
		s.mu.Unlock()
		return // late (timed out, cancelled) or not this connection's to answer
	}
	s.forget(id, cl)
	s.mu.Unlock()
	if m.Error != nil {
		cl.caller.send(appendError(nil, cl.callerID, m.Error))
		return
	}
	cl.caller.send(appendResult(make([]byte, 0, 48+len(cl.callerID)+len(m.Result)), cl.callerID, m.Result))
}

func (s *Server) expire(id uint64) {
	s.mu.Lock()
	cl := s.calls[id]
	if cl == nil {
		s.mu.Unlock()
		return
	}
	s.forget(id, cl)
	s.mu.Unlock()
	cl.caller.send(appendError(nil, cl.callerID, rpcErrorf(CodeTimeout,
		"%s: no answer from its provider (pid %d) within %s", cl.method, cl.provider.pid, cl.timeout)))
	cl.provider.send(cancelFrame(id))
}

var builtins = "bridge.provide, bridge.subscribe, bridge.unsubscribe, bridge.publish, bridge.cancel, bridge.health, bridge.providers"

func (s *Server) builtin(c *conn, m *message) {
	switch m.Method {
	case "bridge.provide":
		var p struct {
			Methods []string `json:"methods"`
		}
		if e := params(m, &p); e != nil {
			c.replyErr(m, e)
			return
		}
		s.provide(c, m, p.Methods)
	case "bridge.subscribe", "bridge.unsubscribe":
		var p struct {
			Patterns []string `json:"patterns"`
		}
		if e := params(m, &p); e != nil {
			c.replyErr(m, e)
			return
		}
		s.subscribe(c, m, p.Patterns, m.Method == "bridge.subscribe")
	case "bridge.publish":
		var p struct {
			Topic string          `json:"topic"`
			Data  json.RawMessage `json:"data"`
		}
		if e := params(m, &p); e != nil {
			c.replyErr(m, e)
			return
		}
		if err := CheckTopic(p.Topic); err != nil {
			c.replyErr(m, rpcErrorf(CodeInvalidParams, "invalid params: %v", err))
			return
		}
		n := s.publish(p.Topic, p.Data)
		c.reply(m, struct {
			Delivered int `json:"delivered"`
		}{n})
	case "bridge.cancel":
		var p struct {
			ID json.RawMessage `json:"id"`
		}
		if e := params(m, &p); e != nil {
			c.replyErr(m, e)
			return
		}
		c.reply(m, struct {
			Cancelled bool `json:"cancelled"`
		}{s.cancel(c, p.ID)})
	case "bridge.health":
		c.reply(m, s.health())
	case "bridge.providers":
		c.reply(m, struct {
			Providers []ProviderInfo `json:"providers"`
		}{s.providerList()})
	default:
		c.replyErr(m, rpcErrorf(CodeMethodNotFound, "unknown method %s: the broker's own methods are %s", m.Method, builtins))
	}
}

// params decodes a request's params object.
func params(m *message, v any) *RPCError {
	if len(m.Params) == 0 {
		return nil
	}
	if err := json.Unmarshal(m.Params, v); err != nil {
		return rpcErrorf(CodeInvalidParams, "invalid params for %s: %v", m.Method, err)
	}
	return nil
}

func (s *Server) provide(c *conn, m *message, methods []string) {
	if len(methods) == 0 {
		c.replyErr(m, rpcErrorf(CodeInvalidParams, "invalid params: bridge.provide needs {\"methods\": [...]}"))
		return
	}
	for _, name := range methods {
		if err := CheckMethod(name); err != nil {
			c.replyErr(m, rpcErrorf(CodeInvalidParams, "invalid params: %v", err))
			return
		}
		if err := s.checkOwner(c, name); err != nil {
			c.replyErr(m, err)
			return
		}
	}
	s.mu.Lock()
	for _, name := range methods {
		if p, ok := s.providers[name]; ok && p.c != c {
			s.mu.Unlock()
			c.replyErr(m, rpcErrorf(CodeConflict, "%s is already provided by pid %d (since %s)", name, p.c.pid, p.since.Format(time.RFC3339)))
			return
		}
	}
	now := time.Now()
	for _, name := range methods {
		if _, ok := s.providers[name]; !ok {
			s.providers[name] = provision{c: c, since: now}
			c.methods = append(c.methods, name)
		}
	}
	slices.Sort(c.methods)
	all := slices.Clone(c.methods)
	s.mu.Unlock()
	s.log.Info().Uint64("conn", c.id).Int("pid", c.pid).Strs("methods", methods).Msg("provide")
	c.reply(m, struct {
		Methods []string `json:"methods"`
	}{all})
}

func (s *Server) subscribe(c *conn, m *message, patterns []string, add bool) {
	for _, p := range patterns {
		if err := CheckPattern(p); err != nil {
			c.replyErr(m, rpcErrorf(CodeInvalidParams, "invalid params: %v", err))
			return
		}
	}
	if add && len(patterns) == 0 {
		c.replyErr(m, rpcErrorf(CodeInvalidParams, "invalid params: bridge.subscribe needs {\"patterns\": [...]}"))
		return
	}
	s.subMu.Lock()
	cur := s.subs[c]
	for _, p := range patterns {
		i := slices.Index(cur, p)
		switch {
		case add && i < 0:
			cur = append(cur, p)
		case !add && i >= 0:
			cur = slices.Delete(cur, i, i+1)
		}
	}
	if len(cur) == 0 {
		delete(s.subs, c)
	} else {
		s.subs[c] = cur
	}
	all := slices.Clone(cur)
	s.subMu.Unlock()
	if all == nil {
		all = []string{}
	}
	c.reply(m, struct {
		Patterns []string `json:"patterns"`
	}{all})
}

// publish queues the event to every matching subscriber and says to how
// many connections.
func (s *Server) publish(topic string, data json.RawMessage) int {
	frame := appendEvent(make([]byte, 0, 80+len(topic)+len(data)), topic, data)
	n := 0
	s.subMu.RLock()
	defer s.subMu.RUnlock()
	for c, pats := range s.subs {
		for _, p := range pats {
			if Match(p, topic) {
				c.send(frame)
				n++
				break
			}
		}
	}
	return n
}

// cancel cancels a call c made, given c's id for it.
func (s *Server) cancel(c *conn, callerID json.RawMessage) bool {
	s.mu.Lock()
	var id uint64
	var cl *call
	for i, x := range c.calling {
		if bytes.Equal(x.callerID, callerID) {
			id, cl = i, x
			break
		}
	}
	if cl == nil {
		s.mu.Unlock()
		return false
	}
	s.forget(id, cl)
	s.mu.Unlock()
	cl.provider.send(cancelFrame(id))
	c.send(appendError(nil, cl.callerID, rpcErrorf(CodeCancelled, "%s: cancelled by the caller", cl.method)))
	return true
}

// Health is the answer of bridge.health.
type Health struct {
	OK            bool  `json:"ok"`
	PID           int   `json:"pid"`
	UptimeMS      int64 `json:"uptime_ms"`
	Connections   int   `json:"connections"`
	Providers     int   `json:"providers"`
	Subscriptions int   `json:"subscriptions"`
	InFlight      int   `json:"in_flight"`
	Dropped       int64 `json:"dropped"`
}

func (s *Server) health() Health {
	h := Health{OK: true, PID: os.Getpid(), UptimeMS: time.Since(s.start).Milliseconds(), Dropped: s.dropped.Load()}
	s.mu.Lock()
	h.Connections, h.Providers, h.InFlight = len(s.conns), len(s.providers), len(s.calls)
	s.mu.Unlock()
	s.subMu.RLock()
	for _, p := range s.subs {
		h.Subscriptions += len(p)
	}
	s.subMu.RUnlock()
	return h
}

// ProviderInfo is one entry of bridge.providers.
type ProviderInfo struct {
	Method string    `json:"method"`
	PID    int       `json:"pid"`
	Since  time.Time `json:"since"`
}

func (s *Server) providerList() []ProviderInfo {
	s.mu.Lock()
	l := make([]ProviderInfo, 0, len(s.providers))
	for m, p := range s.providers {
		l = append(l, ProviderInfo{Method: m, PID: p.c.pid, Since: p.since})
	}
	s.mu.Unlock()
	slices.SortFunc(l, func(a, b ProviderInfo) int { return strings.Compare(a.Method, b.Method) })
	return l
}

// conn is one client connection. The fields after "guarded by s.mu" are
// only touched under the server's mutex.
type conn struct {
	s      *Server
	nc     net.Conn
	id     uint64
	pid    int
	since  time.Time
	out    chan []byte // nil frame: flush and close
	queued atomic.Int64
	quit   chan struct{}
	once   sync.Once

	// guarded by s.mu
	calling map[uint64]*call // calls this connection made
	serving map[uint64]*call // calls routed to this connection
	methods []string
}

func (c *conn) reply(m *message, v any) {
	if m.ID == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		c.replyErr(m, rpcErrorf(CodeInternalError, "internal error: %v", err))
		return
	}
	c.send(appendResult(nil, m.ID, b))
}

func (c *conn) replyErr(m *message, e *RPCError) {
	if m.ID == nil {
		return
	}
	c.send(appendError(nil, m.ID, e))
}

// send queues a frame without ever blocking; a connection whose queue
// overflows is closed.
func (c *conn) send(f []byte) {
	n := int64(len(f))
	if q := c.queued.Add(n); q > n && q > c.s.queueBytes {
		c.queued.Add(-n)
		c.overflow()
		return
	}
	select {
	case <-c.quit:
		c.queued.Add(-n)
	case c.out <- f:
	default:
		c.queued.Add(-n)
		c.overflow()
	}
}

func (c *conn) overflow() {
	select {
	case <-c.quit:
		return
	default:
	}
	c.s.dropped.Add(1)
	c.s.log.Warn().Uint64("conn", c.id).Int("pid", c.pid).Msg("dropping a connection that does not read what it is sent")
	c.close()
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.quit)
		c.nc.Close()
	})
}

// finish writes what is queued, then closes.
func (c *conn) finish() {
	c.nc.SetWriteDeadline(time.Now().Add(shutdownGrace))
	select {
	case c.out <- nil:
	default:
		c.close()
	}
}

func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, bufSize)
	write := func(f []byte) bool {
		if f == nil {
			bw.Flush()
			c.close()
			return false
		}
		_, err := bw.Write(f)
		c.queued.Add(-int64(len(f)))
		if err != nil {
			c.close()
			return false
		}
		return true
	}
	for {
		select {
		case <-c.quit:
			return
		case f := <-c.out:
			if !write(f) {
				return
			}
		drain:
			for {
				select {
				case f := <-c.out:
					if !write(f) {
						return
					}
				default:
					break drain
				}
			}
			if err := bw.Flush(); err != nil {
				c.close()
				return
			}
		}
	}
}

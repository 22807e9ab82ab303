// Package runner is ce's small process inside each session's tmux session.
// It owns the session's claude process: it starts claude for a run, appends
// every stdout line to the run's stream.jsonl, writes the exit file last,
// and keeps a warm claude (stream-json input) between prompts. Because it
// lives in tmux, a run survives the death of every other ce process.
//
// Drivers talk to it over a Unix socket (<state>/sock/<hash>.sock) with
// newline-delimited JSON; see Message. The protocol is internal to ce.
package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/render"
	"github.com/ce-platform/ce/pkg/rundir"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/streamjson"
	"github.com/ce-platform/ce/pkg/text"
	"github.com/rs/zerolog"
)

// Message is one line of the runner protocol, in either direction.
type Message struct {
	Op     string `json:"op,omitempty"`     // run, watch, stop, status, close-warm, quit
	Dir    string `json:"dir,omitempty"`    // run: the run directory
	Run    string `json:"run,omitempty"`    // watch, stop: the run ID
	Reason string `json:"reason,omitempty"` // stop
	// Line is one line of claude's stdout (event "line"), byte for byte.
	Line  string `json:"line,omitempty"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Event is what an answer reports: started (a run began), running (a
	// watched run goes on), line (one line of claude's stdout), cut (this
	// follower fell too far behind: the rest is in stream.jsonl) and exit
	// (the run ended; Exit carries its status and summary).
	Event  string        `json:"event,omitempty"`
	Exit   *rundir.Exit  `json:"exit,omitempty"`
	Status *StatusReport `json:"status,omitempty"`
}

// StatusReport is the answer to "status".
type StatusReport struct {
	PID     int    `json:"pid"`
	Busy    bool   `json:"busy"`
	Run     string `json:"run,omitempty"`
	Warm    bool   `json:"warm"`
	WarmPID int    `json:"warm_pid,omitempty"`
}

// Options configure a runner.
type Options struct {
	Session string
	State   *statedir.Dir
	// Env returns the environment for a new claude process; it is called
	// at every cold start so configuration changes apply then.
	Env       func() []string
	LaunchGap time.Duration
	KeepWarm  time.Duration
	MaxWarm   int
	Out       io.Writer // the tmux pane: a human-readable view
	Log       zerolog.Logger
	// Publish, if set, receives every line as it is read, for the broker
	// (topic session.<name>). It must not block.
	Publish func(run string, line []byte)
}

// Runner serves one session.
type Runner struct {
	opt  Options
	sock string
	quit context.CancelFunc

	mu      sync.Mutex
	cur     *turn
	warm    *proc
	idle    *time.Timer
	lastRun map[string]rundir.Exit
}

type proc struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	lines       chan []byte
	done        chan struct{}
	fingerprint string
	runDir      rundir.Dir
	stderr      *os.File
}

type turn struct {
	run    string
	dir    rundir.Dir
	proc   *proc
	warm   bool
	reused bool
	stop   string
	done   chan struct{}
	exit   rundir.Exit

	// lines holds the turn's output so far, for watchers that arrive late;
	// subs are the connected followers. Both under Runner.mu.
	lines [][]byte
	subs  []*follower
}

// follower is one connection receiving a turn's lines.
type follower struct {
	ch  chan []byte
	cut bool // fell behind: ch was closed before the turn ended
}

// subscriberBuffer bounds how far a watcher may fall behind before it is
// cut off (it then reads the rest from stream.jsonl).
const subscriberBuffer = 4096

// New returns a runner for a session.
func New(opt Options) (*Runner, error) {
	sock, err := opt.State.RunnerSocket(opt.Session)
	if err != nil {
		return nil, err
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	return &Runner{opt: opt, sock: sock, lastRun: map[string]rundir.Exit{}}, nil
}

// Serve listens on the runner socket until ctx is done. A runner already
// answering on the socket makes Serve return an error: one per session.
func (r *Runner) Serve(ctx context.Context) error {
	if c, err := net.DialTimeout("unix", r.sock, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("a runner for session %q is already running", r.opt.Session)
	}
	os.Remove(r.sock)
	ln, err := net.Listen("unix", r.sock)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", r.sock, err)
	}
	os.Chmod(r.sock, 0o600)
	defer os.Remove(r.sock)
	defer r.shutdown()
	fmt.Fprintf(r.opt.Out, "ce runner for session %s (pid %d): waiting for prompts\n", r.opt.Session, os.Getpid())
	ctx, r.quit = context.WithCancel(ctx)
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !peerIsUs(c) {
			c.Close()
			continue
		}
		go r.handle(ctx, c)
	}
}

// peerIsUs checks with SO_PEERCRED that the peer runs as our uid.
func peerIsUs(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *syscall.Ucred
	var cerr error
	raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	return cerr == nil && cred != nil && int(cred.Uid) == os.Getuid()
}

func (r *Runner) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	dec := json.NewDecoder(bufio.NewReader(c))
	enc := json.NewEncoder(c)
	var m Message
	if err := dec.Decode(&m); err != nil {
		enc.Encode(Message{Error: "bad request: " + err.Error()})
		return
	}
	switch m.Op {
	case "run":
		t, err := r.start(rundir.Dir(m.Dir))
		if err != nil {
			enc.Encode(Message{Error: err.Error()})
			return
		}
		enc.Encode(Message{OK: true, Event: "started", Run: t.run})
		r.waitTurn(t, enc)
	case "watch":
		r.mu.Lock()
		t := r.cur
		last, had := r.lastRun[m.Run]
		r.mu.Unlock()
		if t != nil && t.run == m.Run {
			enc.Encode(Message{OK: true, Event: "running", Run: t.run})
			r.waitTurn(t, enc)
			return
		}
		if had {
			enc.Encode(Message{OK: true, Event: "exit", Run: m.Run, Exit: &last})
			return
		}
		enc.Encode(Message{Error: "run " + m.Run + " is not running here"})
	case "stop":
		enc.Encode(Message{OK: r.stop(m.Run, m.Reason)})
	case "status":
		enc.Encode(Message{OK: true, Status: r.status()})
	case "close-warm":
		r.closeWarm("asked to close")
		enc.Encode(Message{OK: true})
	case "quit":
		r.mu.Lock()
		busy := r.cur != nil
		r.mu.Unlock()
		if busy && m.Reason != "force" {
			enc.Encode(Message{Error: "a run is in progress"})
			return
		}
		enc.Encode(Message{OK: true})
		r.stop("", "runner quit")
		r.quit()
	default:
		enc.Encode(Message{Error: fmt.Sprintf("unknown op %q", m.Op)})
	}
}

// waitTurn sends the connected process every line of the turn (those
// already read, then each as it is read) and then the turn's exit. A
// process that falls too far behind gets "cut" instead of the rest of the
// lines (stream.jsonl has them) and still gets the exit. The turn goes on
// if the process disconnects.
func (r *Runner) waitTurn(t *turn, enc *json.Encoder) {
	r.mu.Lock()
	backlog := append([][]byte(nil), t.lines...)
	var f *follower
	select {
	case <-t.done:
	default:
		f = &follower{ch: make(chan []byte, subscriberBuffer)}
		t.subs = append(t.subs, f)
	}
	r.mu.Unlock()
	for _, l := range backlog {
		if enc.Encode(Message{OK: true, Event: "line", Line: string(l)}) != nil {
			return
		}
	}
	if f != nil {
		for l := range f.ch {
			if enc.Encode(Message{OK: true, Event: "line", Line: string(l)}) != nil {
				return
			}
		}
		r.mu.Lock()
		cut := f.cut
		r.mu.Unlock()
		if cut && enc.Encode(Message{OK: true, Event: "cut", Run: t.run}) != nil {
			return
		}
	}
	<-t.done
	e := t.exit
	enc.Encode(Message{OK: true, Event: "exit", Run: t.run, Exit: &e})
}

func (r *Runner) status() *StatusReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &StatusReport{PID: os.Getpid(), Busy: r.cur != nil, Warm: r.warm != nil}
	if r.cur != nil {
		s.Run = r.cur.run
	}
	if r.warm != nil && r.warm.cmd.Process != nil {
		s.WarmPID = r.warm.cmd.Process.Pid
	}
	return s
}

func (r *Runner) start(dir rundir.Dir) (*turn, error) {
	req, err := dir.ReadRequest()
	if err != nil {
		return nil, fmt.Errorf("read run request: %w", err)
	}
	prompt, err := os.ReadFile(dir.Path(rundir.PromptFile))
	if err != nil {
		return nil, fmt.Errorf("read prompt: %w", err)
	}
	r.mu.Lock()
	if r.cur != nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("session %s is busy with run %s", r.opt.Session, r.cur.run)
	}
	won, err := dir.Claim(fmt.Sprintf("runner %d", os.Getpid()))
	if err != nil || !won {
		r.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("run %s was already claimed by %s", req.Run, dir.Claimer())
		}
		return nil, err
	}
	t := &turn{run: req.Run, dir: dir, warm: req.Warm && r.opt.KeepWarm > 0 && r.opt.MaxWarm > 0, done: make(chan struct{})}
	if why, err := os.ReadFile(dir.Path(rundir.StopFile)); err == nil {
		// Stopped before it reached the runner: it ends at once.
		r.mu.Unlock()
		t.exit = rundir.Exit{Stopped: true, Reason: strings.TrimSpace(string(why))}
		dir.WriteExit(t.exit)
		r.finish(t)
		return t, nil
	}
	r.cur = t
	if r.idle != nil {
		r.idle.Stop()
	}
	p := r.warm
	r.warm = nil
	r.mu.Unlock()

	if p != nil && (!t.warm || p.fingerprint != req.Fingerprint || exited(p)) {
		r.kill(p, "configuration changed")
		p = nil
	}
	reused := p != nil
	t.reused = reused
	if p == nil {
		p, err = r.launch(req, dir, t.warm)
		if err != nil {
			t.exit = rundir.Exit{Code: 127, Reason: err.Error()}
			dir.WriteExit(t.exit)
			r.finish(t)
			return nil, err
		}
	}
	r.mu.Lock()
	t.proc = p
	stop := t.stop
	r.mu.Unlock()
	if stop != "" {
		// Stopped while claude was starting: pump records it so.
		r.kill(p, stop)
	}
	os.WriteFile(dir.Path(rundir.PIDFile), []byte(strconv.Itoa(p.cmd.Process.Pid)), 0o600)
	fmt.Fprintf(r.opt.Out, "\n── run %s%s ──\n> %s\n", req.Run, map[bool]string{true: " (warm)"}[reused], text.Safe(text.FirstLine(string(prompt), 200)))
	if t.warm {
		msg, _ := json.Marshal(map[string]any{
			"type":    "user",
			"message": map[string]any{"role": "user", "content": string(prompt)},
		})
		if _, err := p.stdin.Write(append(msg, '\n')); err != nil {
			r.kill(p, "write failed")
		}
	} else {
		go func() {
			p.stdin.Write(prompt)
			p.stdin.Close()
		}()
	}
	go r.pump(t)
	return t, nil
}

func exited(p *proc) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// pump copies claude's stdout lines of one turn into stream.jsonl.
func (r *Runner) pump(t *turn) {
	f, err := os.OpenFile(t.dir.Path(rundir.StreamFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		r.kill(t.proc, "cannot write stream")
	}
	var sum streamjson.Summary
	pane := render.Printer{Text: r.opt.Out, Tools: r.opt.Out, Footer: r.opt.Out}
	for line := range t.proc.lines {
		if f != nil {
			f.Write(line)
		}
		r.publish(t, line[:len(line)-1])
		if r.opt.Publish != nil {
			r.opt.Publish(t.run, line[:len(line)-1])
		}
		ev, perr := streamjson.Parse(line[:len(line)-1])
		if perr != nil {
			continue
		}
		sum.Observe(ev, time.Now())
		pane.Line(line[:len(line)-1])
		if ev.Type == streamjson.TypeResult && t.warm && !exited(t.proc) {
			break
		}
	}
	if f != nil {
		f.Sync()
		f.Close()
	}
	e := rundir.Exit{Result: sum.Result, Reused: t.reused, Summary: &sum}
	r.mu.Lock()
	stop := t.stop
	r.mu.Unlock()
	keep := t.warm && sum.Result && stop == "" && !exited(t.proc)
	e.Warm = keep
	if keep {
		if sum.IsError {
			e.Code = 1
		}
	} else {
		if !exited(t.proc) && stop == "" {
			// A cold claude exits by itself after its result.
			select {
			case <-t.proc.done:
			case <-time.After(10 * time.Second):
				r.kill(t.proc, "did not exit after its result")
			}
		}
		<-t.proc.done
		e.Code, e.Signal = exitStatus(t.proc.cmd)
		killGroup(t.proc.cmd, syscall.SIGKILL) // no orphans (MCP servers)
	}
	if stop != "" {
		e.Stopped, e.Reason = true, stop
	}
	t.exit = e
	if err := t.dir.WriteExit(e); err != nil {
		r.opt.Log.Error().Err(err).Str("run", t.run).Msg("write exit file")
	}
	switch {
	case e.Stopped:
		fmt.Fprintf(r.opt.Out, "■ stopped: %s\n", stop)
	case e.Code == 0:
	default:
		fmt.Fprintf(r.opt.Out, "✗ exit %d %s\n", e.Code, e.Signal)
	}
	if keep {
		r.mu.Lock()
		r.warm = t.proc
		r.idle = time.AfterFunc(r.opt.KeepWarm, func() { r.closeWarm("idle for " + r.opt.KeepWarm.String()) })
		r.mu.Unlock()
		r.registerWarm(true)
	} else {
		r.registerWarm(false)
	}
	r.finish(t)
}

// publish hands a line to the turn's followers; one that has fallen too
// far behind is cut off.
func (r *Runner) publish(t *turn, line []byte) {
	if !json.Valid(line) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.lines = append(t.lines, line)
	kept := t.subs[:0]
	for _, f := range t.subs {
		select {
		case f.ch <- line:
			kept = append(kept, f)
		default:
			f.cut = true
			close(f.ch)
		}
	}
	t.subs = kept
}

func (r *Runner) finish(t *turn) {
	r.mu.Lock()
	for _, f := range t.subs {
		close(f.ch)
	}
	t.subs, t.lines = nil, nil
	if r.cur == t {
		r.cur = nil
	}
	r.lastRun[t.run] = t.exit
	if len(r.lastRun) > 16 {
		for k := range r.lastRun {
			if k != t.run {
				delete(r.lastRun, k)
				break
			}
		}
	}
	r.mu.Unlock()
	close(t.done)
}

// launch starts claude for a run in its own process group.
func (r *Runner) launch(req rundir.Request, dir rundir.Dir, warm bool) (*proc, error) {
	if len(req.Argv) == 0 {
		return nil, errors.New("empty command line")
	}
	bucket := launchBucket{st: r.opt.State, gap: r.opt.LaunchGap, now: time.Now, sleep: time.Sleep}
	if err := bucket.take(); err != nil {
		return nil, err
	}
	argv := append([]string(nil), req.Argv...)
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%s not found on PATH: install it or set agent.command", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Dir = req.Dir
	if r.opt.Env != nil {
		cmd.Env = r.opt.Env()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := os.OpenFile(dir.Path(rundir.StderrFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stderr.Close()
		return nil, err
	}
	// Pdeathsig fires when the thread that forked exits: keep this one.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &proc{cmd: cmd, stdin: stdin, lines: make(chan []byte, 64), done: make(chan struct{}), fingerprint: req.Fingerprint, runDir: dir, stderr: stderr}
	go func() {
		br := bufio.NewReaderSize(stdout, 256<<10)
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if line[len(line)-1] != '\n' {
					line = append(line, '\n')
				}
				p.lines <- line
			}
			if err != nil {
				break
			}
		}
		cmd.Wait()
		stderr.Close()
		close(p.done)
		close(p.lines)
	}()
	return p, nil
}

// stop ends the run (any run when id is ""): the process group gets SIGTERM,
// then SIGKILL if it lingers.
func (r *Runner) stop(id, reason string) bool {
	r.mu.Lock()
	t := r.cur
	if t == nil || (id != "" && t.run != id) {
		r.mu.Unlock()
		return false
	}
	if reason == "" {
		reason = "stopped"
	}
	t.stop = reason
	p := t.proc
	r.mu.Unlock()
	if p != nil { // else claude is still starting: start sees t.stop
		r.kill(p, reason)
	}
	return true
}

func (r *Runner) kill(p *proc, why string) {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.stdin.Close()
	killGroup(p.cmd, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		killGroup(p.cmd, syscall.SIGKILL)
		<-p.done
	}
	killGroup(p.cmd, syscall.SIGKILL)
	r.opt.Log.Debug().Str("why", why).Int("pid", p.cmd.Process.Pid).Msg("claude process ended")
}

func killGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, sig)
	}
}

func (r *Runner) closeWarm(why string) {
	r.mu.Lock()
	p := r.warm
	r.warm = nil
	r.mu.Unlock()
	if p != nil {
		r.kill(p, why)
		fmt.Fprintf(r.opt.Out, "(closed warm claude: %s)\n", why)
		r.registerWarm(false)
	}
}

func (r *Runner) shutdown() {
	r.closeWarm("runner exit")
}

func exitStatus(cmd *exec.Cmd) (int, string) {
	st := cmd.ProcessState
	if st == nil {
		return -1, ""
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), ws.Signal().String()
	}
	return st.ExitCode(), ""
}

// registerWarm records in <state>/warm.json that this session keeps a warm
// claude, and asks the least recently used others to close theirs when more
// than MaxWarm are warm.
func (r *Runner) registerWarm(warm bool) {
	lk, err := lockfile.AcquireTimeout(r.opt.State.Lock("warm"), 10*time.Second)
	if err != nil {
		return
	}
	path := r.opt.State.Path("warm.json")
	m := map[string]int64{}
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &m)
	}
	if warm {
		m[r.opt.Session] = time.Now().UnixNano()
	} else {
		delete(m, r.opt.Session)
	}
	var evict []string
	for len(m) > r.opt.MaxWarm {
		oldest, ot := "", int64(0)
		for s, t := range m {
			if s != r.opt.Session && (oldest == "" || t < ot) {
				oldest, ot = s, t
			}
		}
		if oldest == "" {
			break
		}
		delete(m, oldest)
		evict = append(evict, oldest)
	}
	b, _ := json.Marshal(m)
	os.WriteFile(path, b, 0o600) // a hint for eviction, not state worth an fsync
	lk.Unlock()
	for _, s := range evict {
		if sock, err := r.opt.State.RunnerSocket(s); err == nil {
			Call(context.Background(), sock, Message{Op: "close-warm"})
		}
	}
}

// Call sends one message to a runner and returns its first answer.
func Call(ctx context.Context, sock string, m Message) (Message, error) {
	c, err := Dial(ctx, sock)
	if err != nil {
		return Message{}, err
	}
	defer c.Close()
	return c.Send(m)
}

// Conn is a connection to a runner.
type Conn struct {
	c   net.Conn
	dec *json.Decoder
}

// Dial connects to a runner socket.
func Dial(ctx context.Context, sock string) (*Conn, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := d.DialContext(dctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, dec: json.NewDecoder(bufio.NewReader(c))}, nil
}

// Send writes a message and reads the first answer.
func (c *Conn) Send(m Message) (Message, error) {
	if err := json.NewEncoder(c.c).Encode(m); err != nil {
		return Message{}, err
	}
	return c.Next()
}

// Next reads the next message; it returns an error when the runner goes
// away.
func (c *Conn) Next() (Message, error) {
	var m Message
	err := c.dec.Decode(&m)
	if err == nil && !m.OK && m.Error != "" {
		return m, errors.New(m.Error)
	}
	return m, err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

package fakebot

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Call is one recorded Bot API request, recorded when its answer was
// decided (after any fault delay).
type Call struct {
	Method string            // the method as it appeared in the URL
	ChatID int64             // chat_id when it was a number, else 0
	Time   time.Time         // when the request arrived, by the server's clock
	Params map[string]string // parameters; JSON values other than strings keep their JSON text
	Files  map[string]Upload // file parts of a multipart request
	Status int               // HTTP status answered; 0 when the connection was dropped or abandoned
	Error  string            // the description of an error answer
}

// OK reports whether the call was answered with ok:true.
func (c Call) OK() bool { return c.Status == 200 }

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.notify()
	s.mu.Unlock()
}

// Calls returns every recorded call in the order their answers were decided.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsTo returns the recorded calls of method (compared without case).
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if strings.EqualFold(c.Method, method) {
			out = append(out, c)
		}
	}
	return out
}

// CallsFor returns the recorded calls about chatID, of the given methods or
// of any method when none is given, ordered by arrival time: the input of a
// rate check.
func (s *Server) CallsFor(chatID int64, methods ...string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.ChatID != chatID {
			continue
		}
		if len(methods) > 0 && !containsFold(methods, c.Method) {
			continue
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// WaitCalls waits until at least n calls of method were recorded and
// returns them.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var got []Call
	err := s.WaitFor(ctx, func() bool {
		got = s.CallsTo(method)
		return len(got) >= n
	})
	return got, err
}

// MaxInWindow returns the largest number of calls that arrived within any
// time window of length w (a call at the window's end counts when it is
// less than w after the first). A budget of n calls per w holds when the
// result is at most n.
func MaxInWindow(calls []Call, w time.Duration) int {
	times := make([]time.Time, len(calls))
	for i, c := range calls {
		times[i] = c.Time
	}
	return MaxTimesInWindow(times, w)
}

// MaxTimesInWindow is MaxInWindow over bare times; it sorts times.
func MaxTimesInWindow(times []time.Time, w time.Duration) int {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

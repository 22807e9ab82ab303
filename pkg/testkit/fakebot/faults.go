package fakebot

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Forever as Fault.Times makes a fault apply to every matching request.
const Forever = -1

// Fault makes matching requests fail or misbehave before the method runs,
// so a faulted call has no effect on the server's state.
//
// A request matches when Method is empty or equal (without case) and ChatID
// is 0 or equal to its chat_id. The first matching fault, in the order they
// were added, applies. Delay is waited first; then Drop closes the
// connection without an answer, a non-zero Status answers with that error,
// and otherwise the request is served normally (a slow answer).
type Fault struct {
	Method string
	ChatID int64
	Times  int // how many requests it applies to; 0 means 1, Forever means all

	Status      int           // error_code and HTTP status of the error answer
	Description string        // defaults to Telegram's text for Status
	RetryAfter  int           // parameters.retry_after in seconds, for 429
	Body        string        // a raw body to answer instead of JSON (say, a proxy's HTML page)
	Delay       time.Duration // wait this long before answering
	Drop        bool          // hijack the connection and close it
}

// TooManyRequests is Telegram's flood limit answer, 429 "Too Many Requests:
// retry after N" with parameters.retry_after N, for one request.
func TooManyRequests(method string, chatID int64, retryAfter int) Fault {
	return Fault{Method: method, ChatID: chatID, Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// Blocked is the 403 a user who blocked the bot causes, for every request
// about chatID.
func Blocked(chatID int64) Fault {
	return Fault{ChatID: chatID, Times: Forever, Status: http.StatusForbidden}
}

// Conflict is the 409 another bot instance's getUpdates causes, n times.
func Conflict(n int) Fault {
	return Fault{Method: "getUpdates", Times: n, Status: http.StatusConflict}
}

// ServerError answers method with status (a 5xx), n times.
func ServerError(method string, status, n int) Fault {
	return Fault{Method: method, Times: n, Status: status}
}

// BadRequest answers method with 400 "Bad Request: <description>" once.
func BadRequest(method, description string) Fault {
	return Fault{Method: method, Status: http.StatusBadRequest, Description: "Bad Request: " + description}
}

// Slow delays method's answer by d, n times.
func Slow(method string, d time.Duration, n int) Fault {
	return Fault{Method: method, Times: n, Delay: d}
}

// Drop closes the connection of method's request without answering, n
// times.
func Drop(method string, n int) Fault {
	return Fault{Method: method, Times: n, Drop: true}
}

// AddFault arms f.
func (s *Server) AddFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// PendingFaults counts the armed faults that still have uses left.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

func (s *Server) takeFault(method string, chatID int64) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.ChatID != 0 && f.ChatID != chatID {
			continue
		}
		applied := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &applied
	}
	return nil
}

func (f *Fault) apiError() *apiError {
	e := &apiError{code: f.Status, desc: f.Description, retryAfter: f.RetryAfter}
	if e.desc != "" {
		return e
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		e.desc = fmt.Sprintf("Too Many Requests: retry after %d", f.RetryAfter)
	case http.StatusForbidden:
		e.desc = "Forbidden: bot was blocked by the user"
	case http.StatusConflict:
		e.desc = conflictDescription
	case http.StatusBadRequest:
		e.desc = "Bad Request"
	case http.StatusUnauthorized:
		e.desc = "Unauthorized"
	case http.StatusNotFound:
		e.desc = "Not Found"
	default:
		e.desc = http.StatusText(f.Status)
		if e.desc == "" {
			e.desc = fmt.Sprintf("Error %d", f.Status)
		}
	}
	return e
}

const conflictDescription = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"

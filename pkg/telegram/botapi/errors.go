package botapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot"
)

// Kind says what a failed Bot API call means for the caller.
type Kind int

const (
	// Other is an error none of the other kinds describe.
	Other Kind = iota
	// Network: no answer came (connection refused or dropped, timeout,
	// cancelled context). The request may or may not have taken effect.
	Network
	// Server: a 5xx, or an answer that is not the Bot API's JSON (a proxy's
	// page). Retry with backoff.
	Server
	// RetryAfter: 429 flood control. Wait Error.RetryAfter, not less:
	// retrying early extends the ban.
	RetryAfter
	// Conflict: 409, another getUpdates (another bot instance) or a webhook.
	Conflict
	// Unauthorized: 401 or 404, the token is wrong or revoked.
	Unauthorized
	// Forbidden: 403, the user blocked the bot or the bot left the chat.
	Forbidden
	// NotModified: an edit that changes nothing; callers treat it as success.
	NotModified
	// CantParseEntities: the HTML did not parse; resend as plain text.
	CantParseEntities
	// TooLong: the text or caption exceeds Telegram's limit, or a file is
	// too big to download.
	TooLong
	// MessageNotFound: the message to edit or delete is gone.
	MessageNotFound
	// BadRequest: any other 400.
	BadRequest
)

var kindNames = [...]string{"other", "network", "server", "retry after", "conflict", "unauthorized",
	"forbidden", "not modified", "can't parse entities", "too long", "message not found", "bad request"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is a failed Bot API call. Its text and everything it wraps are
// free of the bot token.
type Error struct {
	Method      string
	Kind        Kind
	Code        int           // the error_code (HTTP status), 0 when no answer came
	Description string        // Telegram's description, or what went wrong
	RetryAfter  time.Duration // for RetryAfter
	err         error
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
	}
	return fmt.Sprintf("telegram %s: %s", e.Method, e.Description)
}

// Unwrap returns the cause, so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.err }

// KindOf returns the kind of err: that of an *Error in its chain, Network
// for a context or transport error, Other otherwise (nil included).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Network
	}
	return Other
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// RetryAfterOf returns how long Telegram asked to wait when err is a 429.
func RetryAfterOf(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.Kind == RetryAfter {
		return e.RetryAfter, true
	}
	var tm *bot.TooManyRequestsError
	if errors.As(err, &tm) {
		return time.Duration(tm.RetryAfter) * time.Second, true
	}
	return 0, false
}

// kindOf classifies an error answer.
func kindOf(code int, desc string) Kind {
	d := strings.ToLower(desc)
	switch {
	case code == http.StatusTooManyRequests:
		return RetryAfter
	case code == http.StatusConflict:
		return Conflict
	case code == http.StatusUnauthorized || code == http.StatusNotFound:
		return Unauthorized
	case code == http.StatusForbidden:
		return Forbidden
	case code >= 500:
		return Server
	case code != http.StatusBadRequest:
		return Other
	case strings.Contains(d, "message is not modified"):
		return NotModified
	case strings.Contains(d, "can't parse entities"):
		return CantParseEntities
	case strings.Contains(d, "message is too long"), strings.Contains(d, "caption is too long"), strings.Contains(d, "text is too long"),
		strings.Contains(d, "file is too big"):
		return TooLong
	case strings.Contains(d, "message to edit not found"), strings.Contains(d, "message to delete not found"),
		strings.Contains(d, "message_id_invalid"):
		return MessageNotFound
	}
	return BadRequest
}

// apiError builds the Error for an error answer.
func apiError(method string, code int, desc string, retryAfter int) *Error {
	e := &Error{Method: method, Kind: kindOf(code, desc), Code: code, Description: desc}
	if e.Kind == RetryAfter {
		e.RetryAfter = time.Duration(max(retryAfter, 1)) * time.Second
	}
	return e
}

// libraryAnswer matches what go-telegram/bot makes of an error answer it
// has no sentinel for.
var libraryAnswer = regexp.MustCompile(`^error response from telegram for method \S+, (\d+) (.*)$`)

// Wrap turns an error of a go-telegram/bot call of method into an *Error
// with the token redacted; nil stays nil. Use it on calls made through
// Client.Bot.
func (c *Client) Wrap(method string, err error) error {
	return wrap(method, c.token, err)
}

func wrap(method, token string, err error) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err
	}
	redactURLError(err, token)
	msg := Redact(err.Error(), token)
	var tm *bot.TooManyRequestsError
	if errors.As(err, &tm) {
		return &Error{Method: method, Kind: RetryAfter, Code: http.StatusTooManyRequests,
			Description: afterComma(tm.Message), RetryAfter: time.Duration(max(tm.RetryAfter, 1)) * time.Second, err: redacted{err, token}}
	}
	var mig *bot.MigrateError
	if errors.As(err, &mig) {
		return &Error{Method: method, Kind: BadRequest, Code: http.StatusBadRequest, Description: afterColon(mig.Message), err: redacted{err, token}}
	}
	for _, s := range []struct {
		sentinel error
		code     int
	}{
		{bot.ErrorBadRequest, http.StatusBadRequest}, {bot.ErrorForbidden, http.StatusForbidden},
		{bot.ErrorUnauthorized, http.StatusUnauthorized}, {bot.ErrorNotFound, http.StatusNotFound},
		{bot.ErrorConflict, http.StatusConflict},
	} {
		if errors.Is(err, s.sentinel) {
			desc := afterComma(msg)
			return &Error{Method: method, Kind: kindOf(s.code, desc), Code: s.code, Description: desc, err: redacted{err, token}}
		}
	}
	if m := libraryAnswer.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &Error{Method: method, Kind: kindOf(code, m[2]), Code: code, Description: m[2], err: redacted{err, token}}
	}
	kind := Other
	var ue *url.Error
	switch {
	case errors.As(err, &ue), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		kind = Network
	case strings.Contains(msg, "error decode response body"), strings.Contains(msg, "error read response body"):
		kind = Server
	}
	return &Error{Method: method, Kind: kind, Description: msg, err: redacted{err, token}}
}

// afterComma strips go-telegram/bot's "bad request, " prefix.
func afterComma(s string) string {
	if _, rest, ok := strings.Cut(s, ", "); ok {
		return rest
	}
	return s
}

func afterColon(s string) string {
	if _, rest, ok := strings.Cut(s, ": "); ok {
		return rest
	}
	return s
}

// redacted keeps an error's chain for errors.Is and errors.As while
// printing it without the token.
type redacted struct {
	err   error
	token string
}

func (r redacted) Error() string { return Redact(r.err.Error(), r.token) }
func (r redacted) Unwrap() error { return r.err }

// Redact replaces every occurrence of token in s with "<token>".
func Redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "<token>")
}

// redactURLError removes the token from the URL of every *url.Error in
// err's chain, whose text net/http builds from that URL.
func redactURLError(err error, token string) {
	for err != nil && token != "" {
		if ue, ok := err.(*url.Error); ok {
			ue.URL = Redact(ue.URL, token)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				redactURLError(e, token)
			}
			return
		}
		err = errors.Unwrap(err)
	}
}

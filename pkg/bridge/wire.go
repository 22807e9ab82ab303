package bridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxFrame is the longest frame, newline excluded, that either side accepts.
const MaxFrame = 16 << 20

// Error codes. The first five are JSON-RPC's own; the rest are the broker's.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601 // also: no connection provides the method
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	CodeHandlerError   = -32000 // a provider's handler failed with a plain error
	CodeTimeout        = -32001 // the call's deadline passed
	CodeProviderGone   = -32002 // the provider disconnected before answering
	CodeCancelled      = -32003 // the caller cancelled the call
	CodeConflict       = -32004 // another connection provides the method
	CodeShuttingDown   = -32005 // the broker is stopping
	CodeForbidden      = -32006 // the peer may not: another user, or a method reserved to another program
)

// RPCError is a JSON-RPC error answer.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return e.Message }

// Is makes errors.Is(err, context.DeadlineExceeded) true for a call that
// timed out in the broker, as for one whose context expired in the client.
func (e *RPCError) Is(target error) bool {
	return e.Code == CodeTimeout && target == context.DeadlineExceeded
}

// IsNoProvider reports whether err says that no connection provides the
// called method (the caller may then fall back to doing the work itself).
func IsNoProvider(err error) bool {
	var re *RPCError
	if !errors.As(err, &re) || re.Code != CodeMethodNotFound || len(re.Data) == 0 {
		return false
	}
	var d struct {
		Command string `json:"command"`
	}
	return json.Unmarshal(re.Data, &d) == nil && d.Command != ""
}

func rpcErrorf(code int, format string, args ...any) *RPCError {
	return &RPCError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// errFrameTooLong is returned by frameReader for a line over its limit.
var errFrameTooLong = errors.New("frame too long")

// frameReader splits a stream into newline-terminated frames.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// bufSize is the read and write buffer of a connection: enough for the
// usual frame; longer ones go through in pieces.
const bufSize = 16 << 10

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// ReadFrame returns the next line without its newline; the slice is valid
// until the next call. A line longer than max is read to its end, dropped,
// and reported as errFrameTooLong, after which the reader goes on with the
// next line. A last line without a newline is returned before the error
// that ended the stream.
func (f *frameReader) ReadFrame() ([]byte, error) {
	if cap(f.buf) > 1<<20 {
		f.buf = nil
	}
	f.buf = f.buf[:0]
	tooLong := false
	for {
		chunk, err := f.r.ReadSlice('\n')
		if !tooLong {
			n := len(chunk)
			if err == nil {
				n--
			}
			switch {
			case len(f.buf)+n > f.max:
				tooLong = true
				f.buf = f.buf[:0]
			case err == nil && len(f.buf) == 0:
				return chunk[:n], nil
			default:
				f.buf = append(f.buf, chunk[:n]...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, errFrameTooLong
			}
			return f.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case tooLong:
			return nil, errFrameTooLong
		case len(f.buf) > 0:
			return f.buf, nil
		default:
			return nil, err
		}
	}
}

// message is one decoded JSON-RPC message. ID is nil when absent (a
// notification) and "null" when the sender wrote null.
type message struct {
	ID        json.RawMessage
	Method    string
	Params    json.RawMessage
	Result    json.RawMessage
	Error     *RPCError
	TimeoutMS int64
	// CallerPID is set by the broker on a routed call: the pid of the
	// calling process (SO_PEERCRED), for providers that decide by caller.
	CallerPID int
}

type rawMessage struct {
	JSONRPC   json.RawMessage `json:"jsonrpc"`
	ID        json.RawMessage `json:"id"`
	Method    json.RawMessage `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     json.RawMessage `json:"error"`
	TimeoutMS json.RawMessage `json:"timeout_ms"`
	CallerPID json.RawMessage `json:"caller_pid"`
}

// decode parses and checks one frame. On an error the returned message
// still carries the id when one could be read, so the answer can use it.
func decode(frame []byte) (*message, *RPCError) {
	b := bytes.TrimLeft(frame, " \t\r\n")
	if len(b) == 0 {
		return nil, rpcErrorf(CodeInvalidRequest, "invalid request: empty frame")
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return nil, rpcErrorf(CodeParseError, "parse error: the frame is not valid JSON")
		}
		if b[0] == '[' {
			return nil, rpcErrorf(CodeInvalidRequest, "invalid request: batches are not supported")
		}
		return nil, rpcErrorf(CodeInvalidRequest, "invalid request: a frame must be a JSON object")
	}
	var r rawMessage
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, rpcErrorf(CodeParseError, "parse error: %v", err)
	}
	m := &message{}
	if r.ID != nil {
		switch r.ID[0] {
		case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			m.ID = r.ID
		default:
			return nil, rpcErrorf(CodeInvalidRequest, "invalid request: id must be a string, a number or null")
		}
	}
	if !bytes.Equal(r.JSONRPC, []byte(`"2.0"`)) {
		var v string
		if json.Unmarshal(r.JSONRPC, &v) != nil || v != "2.0" {
			return m, rpcErrorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`)
		}
	}
	if r.Method != nil {
		s, ok := jsonString(r.Method)
		if !ok || s == "" {
			return m, rpcErrorf(CodeInvalidRequest, "invalid request: method must be a non-empty string")
		}
		if r.Result != nil || r.Error != nil {
			return m, rpcErrorf(CodeInvalidRequest, "invalid request: a request has no result or error")
		}
		m.Method = s
		if r.Params != nil && string(r.Params) != "null" {
			m.Params = r.Params
		}
		if r.TimeoutMS != nil {
			n, err := strconv.ParseInt(string(r.TimeoutMS), 10, 64)
			if err != nil || n < 0 {
				return m, rpcErrorf(CodeInvalidRequest, "invalid request: timeout_ms must be a non-negative integer")
			}
			m.TimeoutMS = n
		}
		if r.CallerPID != nil {
			if n, err := strconv.Atoi(string(r.CallerPID)); err == nil && n > 0 {
				m.CallerPID = n
			}
		}
		return m, nil
	}
	// A response.
	if m.ID == nil {
		return m, rpcErrorf(CodeInvalidRequest, "invalid request: a message needs a method or an id")
	}
	if (r.Result == nil) == (r.Error == nil) {
		return m, rpcErrorf(CodeInvalidRequest, "invalid request: a response has exactly one of result and error")
	}
	if r.Error != nil {
		var e struct {
			Code    *int            `json:"code"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if json.Unmarshal(r.Error, &e) != nil || e.Code == nil || e.Message == nil {
			return m, rpcErrorf(CodeInvalidRequest, "invalid request: error must be an object with an integer code and a message")
		}
		m.Error = &RPCError{Code: *e.Code, Message: *e.Message, Data: e.Data}
		return m, nil
	}
	m.Result = r.Result
	return m, nil
}

// jsonString decodes a JSON string token, fast when it is plain ASCII.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	plain := true
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c == '\\' || c == '"' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// appendRequest appends a request (id != nil) or notification frame.
func appendRequest(b []byte, id json.RawMessage, method string, params json.RawMessage, timeoutMS int64) []byte {
	return appendRoutedRequest(b, id, method, params, timeoutMS, 0)
}

// appendRoutedRequest is appendRequest with the caller's pid, as the broker
// forwards calls to providers.
func appendRoutedRequest(b []byte, id json.RawMessage, method string, params json.RawMessage, timeoutMS int64, callerPID int) []byte {
	b = append(b, `{"jsonrpc":"2.0"`...)
	if id != nil {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	b = append(b, `,"method":`...)
	b = appendString(b, method)
	if len(params) > 0 {
		b = append(b, `,"params":`...)
		b = append(b, params...)
	}
	if timeoutMS > 0 {
		b = append(b, `,"timeout_ms":`...)
		b = strconv.AppendInt(b, timeoutMS, 10)
	}
	if callerPID > 0 {
		b = append(b, `,"caller_pid":`...)
		b = strconv.AppendInt(b, int64(callerPID), 10)
	}
	return append(b, "}\n"...)
}

// appendResult appends a result frame.
func appendResult(b []byte, id json.RawMessage, result json.RawMessage) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = appendRaw(b, id)
	b = append(b, `,"result":`...)
	b = appendRaw(b, result)
	return append(b, "}\n"...)
}

// appendError appends an error frame.
func appendError(b []byte, id json.RawMessage, e *RPCError) []byte {
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = appendRaw(b, id)
	b = append(b, `,"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if len(e.Data) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, e.Data...)
	}
	return append(b, "}}\n"...)
}

// appendEvent appends a bridge.event notification.
func appendEvent(b []byte, topic string, data json.RawMessage) []byte {
	b = append(b, `{"jsonrpc":"2.0","method":"bridge.event","params":{"topic":`...)
	b = appendString(b, topic)
	b = append(b, `,"data":`...)
	b = appendRaw(b, data)
	return append(b, "}}\n"...)
}

func uintID(id uint64) json.RawMessage { return strconv.AppendUint(nil, id, 10) }

// parseUintID reads an id the broker or the client assigned.
func parseUintID(raw json.RawMessage) (uint64, bool) {
	n, err := strconv.ParseUint(string(raw), 10, 64)
	return n, err == nil && n > 0
}

// Package bridge provides ce's broker (Server, run by ce-bridge serve) and
// the Go client every ce command uses to reach it (Client). Both the wire
// protocol below and the Client API are contracts: other programs, in any
// language, may rely on them.
//
// # Wire
//
// The broker listens on a Unix socket, <state>/bridge.sock (0600, in the
// 0700 state directory), and accepts only peers running as its own uid
// (SO_PEERCRED). Each side sends JSON-RPC 2.0 messages, one JSON object per
// line ("\n"); a frame may hold at most MaxFrame bytes (16 MiB). Batches are
// not supported. Errors use the JSON-RPC codes (-32700 parse error, -32600
// invalid request, -32601 method not found, -32602 invalid params) and the
// Code* constants of this package; a bad frame gets an error answer and the
// connection stays usable (an over-long frame is discarded through its
// newline).
//
// Every connection is equal: it may call, provide, publish and subscribe.
// Responses to its own calls carry its own ids; requests routed to it carry
// ids chosen by the broker (positive integers); notifications have no id.
//
// # Calls
//
// A method not starting with "bridge." is routed: the broker forwards the
// request to the connection that provides the method, with a broker id, the
// caller's params unchanged and "timeout_ms" set to the time that is left,
// and routes the provider's answer back with the caller's id (params may
// be any JSON value, though JSON-RPC asks for an object or an array):
//
//	caller -> {"jsonrpc":"2.0","id":"a1","method":"vault.get","params":{"key":"k"},"timeout_ms":5000}
//	provider <- {"jsonrpc":"2.0","id":7,"method":"vault.get","params":{"key":"k"},"timeout_ms":5000}
//	provider -> {"jsonrpc":"2.0","id":7,"result":{"value":"v"}}
//	caller <- {"jsonrpc":"2.0","id":"a1","result":{"value":"v"}}
//
// "timeout_ms" is an optional top-level member of a request: the caller's
// deadline in milliseconds from the moment the broker reads the request
// (default 30000, DefaultTimeout). When it passes, the caller gets a
// CodeTimeout error and the provider a bridge.cancel notification. When the
// caller disconnects, or sends bridge.cancel {"id": <its id>}, the provider
// gets bridge.cancel {"id": <broker id>} too (and the caller, if still
// there, a CodeCancelled error). When the provider disconnects, its calls
// in flight fail at once with CodeProviderGone. A call to a method nobody
// provides fails at once with CodeMethodNotFound and a message naming the
// command to start ("no provider for vault.get: start ce-vault serve (or ce
// up)"); its data is {"method":..,"command":..}. A routed notification (no
// id) is forwarded as a notification, or dropped when nobody provides it.
//
// # The broker's own methods
//
//	bridge.provide     {"methods":["vault.get",..]} -> {"methods":[all methods of this connection]}
//	                   claims methods until the connection closes; a method another
//	                   live connection provides is refused with CodeConflict (nothing is claimed)
//	bridge.subscribe   {"patterns":["session.*","queue.changed"]} -> {"patterns":[..]}
//	bridge.unsubscribe {"patterns":[..]} -> {"patterns":[what is left]}
//	bridge.publish     {"topic":"session.x","data":any} -> {"delivered":N}
//	bridge.cancel      {"id":<the caller's id of a call in flight>} -> {"cancelled":bool}
//	bridge.health      -> {"ok":true,"pid":..,"uptime_ms":..,"connections":..,"providers":..,
//	                       "subscriptions":..,"in_flight":..,"dropped":..}
//	bridge.providers   -> {"providers":[{"method":..,"pid":..,"since":RFC 3339}]}
//
// "providers" counts provided methods, "subscriptions" patterns over all
// connections, "dropped" connections closed for not reading.
//
// # Events
//
// Events go to every connection with a matching pattern as notifications:
//
//	{"jsonrpc":"2.0","method":"bridge.event","params":{"topic":"session.x","data":{..}}}
//
// A topic is dot-separated non-empty segments of printable characters
// without spaces or '*', at most 256 bytes; topics under "bridge." are
// reserved. In a pattern, '*' matches any run of characters within one
// segment ("sess*.x", "*.changed"), except that a last segment of just '*'
// matches one or more whole segments: "session.*" matches "session.a" and
// "session.a.b" but not "session"; "*" alone matches every topic. Delivery
// is best effort, in publish order per publisher.
//
// # Slow readers
//
// The broker never waits for a connection: each has a queue of frames to
// write, bounded by QueueFrames frames and QueueBytes bytes. A connection
// that lets its queue overflow is closed (and counted in "dropped"): its
// calls are cancelled, its methods released, its subscriptions end. Loss is
// therefore visible to the subscriber, which reconnects and re-reads the
// files the events are about; a connection that both provides and
// subscribes risks its methods, so the Go client uses a connection per
// Subscribe and per Provide.
//
// # Client
//
// Client connects lazily and fails fast with ErrNoBroker when no broker
// runs, so callers fall back to reading and polling files. It reconnects
// when the broker restarts or its socket file is replaced (new inode).
package bridge

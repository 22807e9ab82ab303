// Package bench holds the benchmarks behind `make bench`, whose table sets
// each figure beside its target: the real ce binaries, tmux, the instant
// stand-in agent and the real claude against the fake API. It has no code
// of its own.
package bench

// Package bench holds the benchmarks behind `make bench` (DESIGN.md section
// 8): the real ce binaries, tmux, the instant stand-in agent and the real
// claude against the fake API. It has no code of its own.
package bench

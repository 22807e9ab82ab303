// Package clidoc generates the documentation that ships next to each ce
// binary from the binary's kong model: man pages in roff, and bash, zsh and
// fish completion scripts that call the binary back through the posener
// COMP_LINE protocol spoken by jotaen/kong-completion.
//
// Output is a pure function of the model and the options: no clock, no
// absolute paths, no map-order dependence. That lets the generated files be
// committed and lets tests fail when they go stale (see CheckFiles and
// MissingFlags).
//
// This package is implementation, not a contract: other programs should rely
// on the generated files, not on this API.
package clidoc

// Package clitest holds the testscript scripts (testdata/*.txtar) that test
// every ce command as a user runs it: the real binaries, real tmux, and the
// real claude against ce's fake Anthropic API.
package clitest

// Package pkgtest holds the tests of what ships outside the binaries: the
// systemd units in contrib/systemd and the Debian package `make deb`
// builds. It has no code of its own.
package pkgtest

// Package pkgdoc holds tests of rules about the packages of the module:
// every package has a comment, and the layers stay apart.
package pkgdoc

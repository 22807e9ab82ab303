// Package deps pins modules that packages under construction will use, so
// that go.mod holds them while those packages are written; it is imported
// by nothing.
package deps

import (
	_ "filippo.io/age"
)

// Package deps holds the test that checks what each ce program links and
// which packages may import which: layers are checked, not hoped for.
package deps

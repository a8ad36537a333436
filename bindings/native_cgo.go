//go:build cgo

package bindings

// Native reports whether this build links the native core.
const Native = true

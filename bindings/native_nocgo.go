//go:build !cgo

package bindings

// Native reports whether this build links the native core.
const Native = false

// Sizeof returns 0: there is no native core to ask.
func Sizeof(string) uintptr { return 0 }

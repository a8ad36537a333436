// Package bindings is the Go API over m4's native core (the C code in
// ../native, declared in m4.h). It is the only package that calls C: every
// other package uses these Go types and functions.
//
// Built without cgo (CGO_ENABLED=0) the package still compiles, and every
// entry point returns ErrNoNative, so the rest of m4 can say clearly what it
// cannot do instead of failing to build.
package bindings

import "errors"

// ErrNoNative is returned by every native entry point in a build without cgo.
var ErrNoNative = errors.New("m4 was built without cgo (CGO_ENABLED=0): the native simulators and model kernels are unavailable; rebuild with a C compiler and CGO_ENABLED=1")

// InputError reports which input field of which flow a native routine
// rejected, so callers can name the file that field came from.
type InputError struct {
	Field string // the C API's name: "arrival_ns", "size_bytes", "src" or "dst"
	Index int    // the flow's index
	Msg   string // the native library's full message
}

func (e *InputError) Error() string { return e.Msg }

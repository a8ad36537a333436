//go:build cgo

package bindings

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

// m4goPktsimProgress forwards the packet simulator's progress hook to the
// PktsimConfig.Progress function behind handle h.
//
//export m4goPktsimProgress
func m4goPktsimProgress(h C.uintptr_t, done, total C.size_t, nowNs C.int64_t) {
	cgo.Handle(h).Value().(func(int, int, int64))(int(done), int(total), int64(nowNs))
}

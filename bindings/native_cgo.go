//go:build cgo

package bindings

/*
#include <stdlib.h>
#include "m4.h"
*/
import "C"

import "unsafe"

// Native reports whether this build links the native core.
const Native = true

// Sizeof returns the size in bytes of the m4.h struct named typ (e.g.
// "m4_model_config") as compiled into the native core (m4_sizeof), or 0 for
// a name it does not know. Code that lays out m4.h's structs itself, such as
// the gpu package's purego calls, checks its layout against it.
func Sizeof(typ string) uintptr {
	cs := C.CString(typ)
	defer C.free(unsafe.Pointer(cs))
	return uintptr(C.m4_sizeof(cs))
}

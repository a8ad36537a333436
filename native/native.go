// Package native compiles m4's C sources (the .c files in this directory) into
// every Go binary that imports it, and exposes the C API header.
//
// It exists for the build cache: cgo only notices edits to C files in the
// directory of the package that compiles them, so the sources and m4.h live
// here, beside this file. Package bindings calls into them; nothing else should.
package native

// #cgo CFLAGS: -std=c99 -O3 -Wall -Wextra -D_POSIX_C_SOURCE=200809L
// #cgo CFLAGS: -fopenmp -pthread
// #cgo LDFLAGS: -lm -fopenmp -pthread
// /* -fopenmp: OpenMP threads the model kernels (model*.c); their results never
//    depend on the thread count. Debian's gcc ships libgomp. No -Werror here: a
//    newer compiler's new warning must not break a user's build; .ci/run adds it
//    through CGO_CFLAGS. */
import "C"

import _ "embed"

// Header is the text of m4.h. Embedding it makes this package's build output,
// and so every dependent's build-cache key, change whenever the header does:
// bindings, which includes the header, is then never served stale.
//
//go:embed m4.h
var Header string

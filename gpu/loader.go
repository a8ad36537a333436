// Package gpu finds and loads libm4cuda.so, m4's CUDA kernels, at run time,
// and runs the model's forward pass on an NVIDIA GPU through it.
//
// m4 never links CUDA at build time: the CUDA kernels (gpu/*.cu, each the
// twin of a C reference in native/) are built separately by CMake, when nvcc
// is present, into libm4cuda.so, and this package dlopens it with purego
// when the user asks for --gpu. Every reason the GPU cannot be used comes
// back as an error that says it in one line and matches one of ErrNoLibrary,
// ErrNoDriver, ErrNoDevice, ErrOutOfMemory or ErrUnsupported (errors.Is), so
// that the CLI can print it and carry on with the CPU.
package gpu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ebitengine/purego"
)

// LibName is the file name of the CUDA backend library.
const LibName = "libm4cuda.so"

// EnvLib names an environment variable holding the library's full path.
const EnvLib = "M4_CUDA_LIB"

// ABIVersion is the m4cuda_version this package's bindings are written for.
const ABIVersion = "0.1.0"

// The classes of reasons the GPU cannot be used.
var (
	ErrNoLibrary   = errors.New("no GPU backend library")
	ErrNoDriver    = errors.New("no NVIDIA driver")
	ErrNoDevice    = errors.New("no CUDA device")
	ErrOutOfMemory = errors.New("out of GPU memory")
	ErrUnsupported = errors.New("not supported by this GPU or build")
)

// Error is an error of the CUDA backend: Msg says what happened, Kind (one
// of the Err* values above, or nil) what class of failure it is.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// Lib is a loaded libm4cuda.so. It stays loaded until the process exits
// (there is no Close): CUDA's runtime inside it cannot be unloaded safely
// once used.
type Lib struct {
	Path   string
	handle uintptr
	api    api
}

// Candidates lists where Open looks for the library: $M4_CUDA_LIB alone when
// it is set (an explicit choice is never second-guessed), else beside the
// executable, ./build, then the dynamic loader's search path.
func Candidates() []string {
	if p := os.Getenv(EnvLib); p != "" {
		return []string{p}
	}
	var c []string
	if exe, err := os.Executable(); err == nil {
		c = append(c, filepath.Join(filepath.Dir(exe), LibName))
	}
	c = append(c, filepath.Join("build", LibName), LibName)
	return c
}

// Open loads the first usable candidate library and binds its functions.
// It does not touch the GPU: Devices does.
func Open() (*Lib, error) {
	if runtime.GOOS != "linux" {
		return nil, &Error{ErrUnsupported, fmt.Sprintf("the CUDA backend is built for Linux only (this is %s)", runtime.GOOS)}
	}
	var tried []string
	for _, path := range Candidates() {
		if strings.Contains(path, "/") {
			if _, err := os.Stat(path); err != nil {
				tried = append(tried, path)
				continue
			}
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", path, err))
			continue
		}
		l := &Lib{Path: path, handle: h}
		if err := l.bind(); err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", path, err))
			continue
		}
		return l, nil
	}
	return nil, &Error{ErrNoLibrary, fmt.Sprintf("no GPU backend: %s not found (looked in %s); build it with CMake on a machine with the CUDA toolkit, or set %s",
		LibName, strings.Join(tried, ", "), EnvLib)}
}

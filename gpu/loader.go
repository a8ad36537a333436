// Package gpu finds and loads libm4cuda.so, m4's CUDA kernels, at run time.
//
// m4 never links CUDA at build time: the CUDA kernels are built separately by
// CMake (when nvcc is present) into libm4cuda.so, and this package dlopens it
// with purego when the user asks for --gpu. Every reason the GPU cannot be
// used (no library, no driver, no device) comes back as an error the CLI
// prints in one line before it carries on with the CPU.
package gpu

import (
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

// Lib is a loaded libm4cuda.so.
type Lib struct {
	Path   string
	handle uintptr
}

// Candidates lists where Open looks for the library, in order: $M4_CUDA_LIB,
// beside the executable, ./build, then the dynamic loader's search path.
func Candidates() []string {
	var c []string
	if p := os.Getenv(EnvLib); p != "" {
		c = append(c, p)
	}
	if exe, err := os.Executable(); err == nil {
		c = append(c, filepath.Join(filepath.Dir(exe), LibName))
	}
	c = append(c, filepath.Join("build", LibName), LibName)
	return c
}

// Open loads the first usable candidate library.
func Open() (*Lib, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the CUDA backend is built for Linux only (this is %s)", runtime.GOOS)
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
		return &Lib{Path: path, handle: h}, nil
	}
	return nil, fmt.Errorf("no GPU backend: %s not found (looked in %s); build it with CMake on a machine with the CUDA toolkit, or set %s",
		LibName, strings.Join(tried, ", "), EnvLib)
}

// Close unloads the library.
func (l *Lib) Close() error {
	if l == nil || l.handle == 0 {
		return nil
	}
	err := purego.Dlclose(l.handle)
	l.handle = 0
	return err
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/m4sim/m4/bindings"
)

// built is the m4 binary that the tests running m4 as a subprocess share:
// built once per test binary, in a folder removed when the tests end
// (TestMain).
var built struct {
	once      sync.Once
	dir, path string
	err       error
}

// m4Binary returns the path of m4 built with go build, or skips the test
// where it cannot run: with -short (what says why it is long) or without
// the native library.
func m4Binary(t *testing.T, what string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds m4 and runs it " + what)
	}
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "m4-test-bin"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "m4")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// removeBuilt removes the shared binary's folder.
func removeBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

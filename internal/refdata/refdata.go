// Package refdata locates the ns-3 reference data for tests: the folder
// given by $M4_REFERENCE, else shared/reference beside the module's checkout.
// Tests that need it skip, saying why, when it is absent, and the package's
// test run says in one line how many skipped (Main); with
// $M4_REQUIRE_REFERENCE=1 (CI, where the data is) a missing folder fails
// them instead.
package refdata

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
)

// Env names the environment variable that overrides the location.
const Env = "M4_REFERENCE"

// RequireEnv names the environment variable that, set to 1, turns a missing
// reference folder from a skip into a failure.
const RequireEnv = "M4_REQUIRE_REFERENCE"

// skipped counts this test binary's tests skipped for lack of the data
// (one test binary is one package: Main reports it).
var skipped atomic.Int64

// Find returns the reference folder, or "" when there is none.
func Find() string {
	if r := os.Getenv(Env); r != "" {
		if _, err := os.Stat(r); err != nil {
			return ""
		}
		return r
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			r := filepath.Join(filepath.Dir(dir), "shared", "reference")
			if _, err := os.Stat(filepath.Join(r, "README.md")); err == nil {
				return r
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// why says where the data was looked for.
func why() string {
	if r := os.Getenv(Env); r != "" {
		return fmt.Sprintf("no ns-3 reference data at $%s=%s", Env, r)
	}
	return fmt.Sprintf("no ns-3 reference data at ../shared/reference beside the checkout (set %s)", Env)
}

// Root returns the reference folder or skips t (fails it when
// $M4_REQUIRE_REFERENCE is 1).
func Root(t testing.TB) string {
	t.Helper()
	r := Find()
	if r == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s, and %s=1 requires it", why(), RequireEnv)
			return ""
		}
		skipped.Add(1)
		t.Skipf("%s; skipped", why())
	}
	return r
}

// Main runs a package's tests (call it from TestMain), then the cleanup
// functions, and then, when some tests skipped for lack of the reference
// data, says so in one line. go test
// shows a passing package's output only with -v, so the line also goes to
// the go command's own output (its stdout, when that is a terminal or a
// pipe: on Linux, /proc/PPID/fd/1), where `go test ./...` prints it above
// the package's "ok" line.
func Main(m *testing.M, cleanup ...func()) {
	code := m.Run()
	for _, f := range cleanup {
		f()
	}
	if n := skipped.Load(); n > 0 {
		pkg := "this package"
		if bi, ok := debug.ReadBuildInfo(); ok {
			pkg = strings.TrimSuffix(bi.Path, ".test")
		}
		line := fmt.Sprintf("%s: %d test(s) skipped: %s; %s=1 makes that a failure\n", pkg, n, why(), RequireEnv)
		fmt.Print(line)
		toGoCommand(line)
	}
	os.Exit(code)
}

// toGoCommand writes line to the stdout of the process that ran this test
// binary, if that is the go command and its stdout a terminal or a pipe
// (appending to a regular file from here could overwrite its output).
func toGoCommand(line string) {
	ppid := os.Getppid()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return
	}
	path := fmt.Sprintf("/proc/%d/fd/1", ppid)
	st, err := os.Stat(path)
	if err != nil || st.Mode()&(os.ModeCharDevice|os.ModeNamedPipe) == 0 {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	f.WriteString(line)
	f.Close()
}

// Package refdata locates the ns-3 reference data for tests: the folder
// given by $M4_REFERENCE, else shared/reference beside the module's checkout.
// Tests that need it skip, saying why, when it is absent.
package refdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Env names the environment variable that overrides the location.
const Env = "M4_REFERENCE"

// Find returns the reference folder, or "" when there is none.
func Find() string {
	if r := os.Getenv(Env); r != "" {
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

// Root returns the reference folder or skips t.
func Root(t testing.TB) string {
	t.Helper()
	r := Find()
	if r == "" {
		t.Skipf("reference data not found (set %s, or put it at ../shared/reference beside the checkout)", Env)
	}
	return r
}

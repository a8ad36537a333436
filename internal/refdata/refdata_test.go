package refdata

import (
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skip, fatal string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skip = format }
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = format }

// TestRoot: the data is found at $M4_REFERENCE; without it Root skips and
// counts the skip, or with M4_REQUIRE_REFERENCE=1 fails the test.
func TestRoot(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(Env, dir)
	t.Setenv(RequireEnv, "")
	if got := Root(t); got != dir {
		t.Fatalf("Root = %q, want %q", got, dir)
	}
	missing := filepath.Join(dir, "nope")
	t.Setenv(Env, missing)
	before := skipped.Load()
	r := &recorder{TB: t}
	if Root(r); r.skip == "" || r.fatal != "" || skipped.Load() != before+1 {
		t.Errorf("missing data: skip %q, fatal %q, %d skips counted", r.skip, r.fatal, skipped.Load()-before)
	}
	t.Setenv(RequireEnv, "1")
	r = &recorder{TB: t}
	if Root(r); r.fatal == "" || r.skip != "" {
		t.Errorf("missing data with %s=1: skip %q, fatal %q; want a failure", RequireEnv, r.skip, r.fatal)
	}
	if !strings.Contains(why(), missing) {
		t.Errorf("the reason %q does not say where it looked", why())
	}
	skipped.Store(before) // this package's own note would report the fake skip
}

package main

import (
	"testing"

	"github.com/m4sim/m4/internal/refdata"
)

// TestMain says in one line how many tests skipped for lack of the ns-3
// reference data (refdata.Main) and removes the m4 binary the tests built
// (m4Binary).
func TestMain(m *testing.M) { refdata.Main(m, removeBuilt) }

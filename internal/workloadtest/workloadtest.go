// Package workloadtest makes workloads from spec text for the tests of the
// stages that consume them (decomposition, features, inference, truth,
// evaluation), so each test states its workload as a few lines of YAML.
package workloadtest

import (
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/workload"
)

// Generate parses spec (m4 workload's YAML) and generates its workload,
// failing t on any error. Every caller goes on to simulate, so without the
// native library it skips t.
func Generate(t testing.TB, spec string) (*workload.Workload, *workload.Spec) {
	t.Helper()
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	s, err := workload.ParseSpec("test.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	w, err := workload.Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	return w, s
}

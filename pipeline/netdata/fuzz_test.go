package netdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoadSpec: a workload family (YAML or JSON) either loads into one that
// validates and draws its first workloads, or fails naming the file.
func FuzzLoadSpec(f *testing.F) {
	def, err := yaml.Marshal(ExampleSpec())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def, false)
	f.Add([]byte("seed: 2\nworkloads: {count: 2}\npaths: 12\ntopologies: [{kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 16, hosts_per_rack: 2}]\nflows: [300, 400]\nmatrices: [uniform]\n"), false)
	f.Add([]byte(`{"seed": 3, "sizes": ["exp"], "size_sigma": [6000, 9000], "max_load": [0.3, 0.3], "arrivals": ["poisson"]}`), true)
	f.Add([]byte("matrices: [cluster_q]\n"), false)
	f.Add([]byte("flows: [0, 10]\n"), false)
	f.Add([]byte("topologies: [{kind: fabric, fabs_per_pod: 500000}]\n"), false)
	f.Fuzz(func(t *testing.T, spec []byte, isJSON bool) {
		name := filepath.Join(t.TempDir(), "family.yaml")
		if isJSON {
			name = strings.TrimSuffix(name, ".yaml") + ".json"
		}
		if err := os.WriteFile(name, spec, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSpec(name)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("loaded a family that does not validate: %v", err)
		}
		for w := 0; w < 3; w++ {
			if _, err := s.Draw(s.Workloads.First + w); err != nil {
				t.Fatalf("a valid family fails to draw workload %d: %v", s.Workloads.First+w, err)
			}
		}
	})
}

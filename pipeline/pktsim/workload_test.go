package pktsim

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/m4sim/m4/pipeline/workload"
)

// TestFromWorkloadMatchesTopologyFile: converting a workload topology
// directly gives the topology the simulator reads from the ns-3 file the
// workload writes (the fork's view of the same network), rates and delays
// included.
func TestFromWorkloadMatchesTopologyFile(t *testing.T) {
	fab, err := workload.Fabric(BenchFabric)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := workload.FatTree(4, 12.5, 40, 1500)
	if err != nil {
		t.Fatal(err)
	}
	odd := &workload.Topology{Name: "odd", IsSwitch: []bool{false, true, false},
		Links: []workload.Link{{A: 0, B: 1, Gbps: 0.1, DelayNs: 0}, {A: 2, B: 1, Gbps: 2.0000000001, DelayNs: 1000000}}}
	for i, w := range []*workload.Topology{fab, ft, odd} {
		got, err := FromWorkload(w)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var b bytes.Buffer
		if err := w.WriteNS3(&b); err != nil {
			t.Fatal(err)
		}
		want, err := ParseTopology(w.Name, &b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %d (%s): direct conversion differs from the topology file", i, w.Name)
		}
	}
	bad := &workload.Topology{Name: "far", IsSwitch: []bool{false, true}, Links: []workload.Link{{A: 0, B: 1, Gbps: 10, DelayNs: 2000000}}}
	if _, err := FromWorkload(bad); err == nil {
		t.Error("a 2 ms link: no error")
	}
}

package datagen

import (
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/scenario"
)

// TestTruthArraysKnown: with Known set, only the flows that have a result
// get fid/fct/fct_i entries, in the fork's order; none known is an error.
func TestTruthArraysKnown(t *testing.T) {
	p := &scenario.Path{Name: "p", Hosts: 3, ArrivalNs: []float64{10, 20, 20, 30}, SizeBytes: []float64{100, 200, 300, 400},
		Src: []int32{0, 0, 1, 0}, Dst: []int32{2, 2, 2, 1}}
	gt := &GroundTruth{FCTNs: []float64{5000, 7000, 9000, 4000}, IdealNs: []float64{4000, 8000, 3000, 2000},
		Known: []bool{false, true, false, true}}
	fid, fct, ideal, err := truthArrays(p, gt)
	if err != nil {
		t.Fatal(err)
	}
	// flows 1 (start 20) and 3 (start 30); flow 1's FCT clamps to its ideal
	if !slices.Equal(fid, []int64{1, 3}) || !slices.Equal(fct, []int64{8000, 4000}) || !slices.Equal(ideal, []int64{8000, 2000}) {
		t.Errorf("fid %v fct %v ideal %v", fid, fct, ideal)
	}
	all, _, _, err := truthArrays(p, &GroundTruth{FCTNs: gt.FCTNs, IdealNs: gt.IdealNs})
	if err != nil || !slices.Equal(all, []int64{0, 1, 2, 3}) {
		t.Errorf("all known: fid %v, %v", all, err)
	}
	gt.Known = []bool{false, false, false, false}
	if _, _, _, err := truthArrays(p, gt); err == nil || !strings.Contains(err.Error(), "no flow") {
		t.Errorf("none known: %v", err)
	}
	gt.Known = []bool{true}
	if _, _, _, err := truthArrays(p, gt); err == nil {
		t.Error("a Known of the wrong length was accepted")
	}
}

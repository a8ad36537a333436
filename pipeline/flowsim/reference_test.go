package flowsim

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// referenceRoot returns the reference data folder, or skips.
func referenceRoot(t testing.TB) string {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	return refdata.Root(t)
}

// TestReferenceShards checks flowsim against m3's own flowsim output on every
// reference scenario: relative error <= 1e-6 for every flow.
func TestReferenceShards(t *testing.T) {
	root := referenceRoot(t)
	var dirs []string
	for _, set := range []string{"m3-shards", "ns3-paths"} {
		m, _ := filepath.Glob(filepath.Join(root, set, "shard*"))
		dirs = append(dirs, m...)
	}
	if len(dirs) < 930 {
		t.Fatalf("found %d reference scenarios under %s, want 930", len(dirs), root)
	}
	worst := 0.0
	for _, dir := range dirs {
		p, err := scenario.LoadShard(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := npyfile.Read(filepath.Join(dir, "fct_flowsim.npy"))
		if err != nil {
			t.Fatal(err)
		}
		w := want.Float64s()
		if len(w) != len(res.FCTNs) {
			t.Fatalf("%s: %d FCTs, want %d", dir, len(res.FCTNs), len(w))
		}
		for i, got := range res.FCTNs {
			rel := math.Abs(got-w[i]) / w[i]
			if rel > worst {
				worst = rel
			}
			if rel > 1e-6 {
				t.Errorf("%s: flow %d: fct %.9g ns, m3 %.9g ns (rel err %.2g)", filepath.Base(dir), i, got, w[i], rel)
				break
			}
		}
	}
	t.Logf("%d scenarios, worst relative error %.3g", len(dirs), worst)
}

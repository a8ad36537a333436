package features

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// referenceRoot returns the reference data folder, or skips.
func referenceRoot(t testing.TB) string {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	return refdata.Root(t)
}

func referenceDirs(t testing.TB) []string {
	root := referenceRoot(t)
	var dirs []string
	for _, set := range []string{"m3-shards", "ns3-paths"} {
		m, _ := filepath.Glob(filepath.Join(root, set, "shard*"))
		dirs = append(dirs, m...)
	}
	if len(dirs) < 930 {
		t.Fatalf("found %d reference scenarios under %s, want 930", len(dirs), root)
	}
	return dirs
}

// compareArray checks that got (data, shape, dtype) equals want to a relative
// tolerance; it returns the worst relative difference.
func compareArray(name string, want *npyfile.Array, got any, shape []int, dtype string, tol float64) (float64, error) {
	if want.Dtype != dtype {
		return 0, fmt.Errorf("%s: reference dtype %s, m4 writes %s", name, want.Dtype, dtype)
	}
	if !slices.Equal(want.Shape, shape) {
		return 0, fmt.Errorf("%s: reference shape %v, m4 %v", name, want.Shape, shape)
	}
	var g []float64
	switch v := got.(type) {
	case []float32:
		for _, x := range v {
			g = append(g, float64(x))
		}
	case []float64:
		g = v
	case []int64:
		for _, x := range v {
			g = append(g, float64(x))
		}
	}
	var w []float64
	if ints, err := want.Int64s(); err == nil {
		for _, x := range ints {
			w = append(w, float64(x))
		}
	} else {
		w = want.Float64s()
	}
	if len(g) != len(w) {
		return 0, fmt.Errorf("%s: %d values, reference %d", name, len(g), len(w))
	}
	worst := 0.0
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if d == 0 {
			continue
		}
		rel := d / math.Max(math.Abs(w[i]), math.Abs(g[i]))
		worst = max(worst, rel)
		if !(rel <= tol) {
			return worst, fmt.Errorf("%s[%d] (row %d, col %d): m4 %.9g, reference %.9g (rel %.2g)",
				name, i, i/shape[len(shape)-1], i%shape[len(shape)-1], g[i], w[i], rel)
		}
	}
	return worst, nil
}

// TestReferenceFeatureMaps rebuilds the feature map of every reference
// scenario (930: m3-shards and ns3-paths, 3-, 5- and 7-host paths) from its
// flows, running flowsim here, and checks every array against the feat_*.npz
// that m3's util/dataset.py wrote: same shapes and dtypes, values within a
// relative 1e-5.
func TestReferenceFeatureMaps(t *testing.T) {
	dirs := referenceDirs(t)
	worst := map[string]float64{}
	failed := 0
	for _, dir := range dirs {
		m, err := FromShard(dir, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Output == nil {
			t.Fatalf("%s: no ground truth read", dir)
		}
		h := m.Input.Hosts
		feat, err := npyfile.ReadNPZ(filepath.Join(dir, "feat_"+Tag(h, 0)+".npz"))
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct {
			name  string
			got   any
			shape []int
			dtype string
		}{
			{"res", m.Input.Res, []int{h, RowWidth}, "<f4"},
			{"num_flows_per_cell", m.Input.NumFlowsPerCell, []int{h, CellsPerRow}, "<f8"},
			{"res_output", m.Output.ResOutput, []int{OutputLen}, "<f4"},
			{"num_flows_per_cell_output", m.Output.NumFlowsPerCellOutput, []int{OutputLen}, "<f4"},
			{"n_input", []int64{int64(h)}, []int{}, "<i8"},
		}
		if len(feat) != len(checks) {
			t.Errorf("%s: reference has %d arrays, want %d", dir, len(feat), len(checks))
		}
		for _, c := range checks {
			want, ok := feat[c.name]
			if !ok {
				t.Fatalf("%s: reference lacks %s", dir, c.name)
			}
			w, err := compareArray(c.name, want, c.got, c.shape, c.dtype, 1e-5)
			worst[c.name] = max(worst[c.name], w)
			if err != nil {
				failed++
				if failed <= 10 {
					t.Errorf("%s: %v", filepath.Base(dir), err)
				}
			}
		}
	}
	t.Logf("%d scenarios; worst relative difference per array: %v", len(dirs), worst)
}

// TestReferenceParams checks the configuration encoding on every reference
// scenario: the named values of param_*.txt give exactly param_*.npy, and
// ParamText writes the file back byte for byte.
func TestReferenceParams(t *testing.T) {
	for _, dir := range referenceDirs(t) {
		paths, _ := filepath.Glob(filepath.Join(dir, "param_*.txt"))
		if len(paths) != 1 {
			t.Fatalf("%s: %d param_*.txt files", dir, len(paths))
		}
		c, err := ReadParamText(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		npy, err := npyfile.Read(paths[0][:len(paths[0])-len(".txt")] + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		v := c.Vector()
		if !slices.Equal(npy.Float64s(), v[:]) {
			t.Errorf("%s: vector %v, param npy %v", paths[0], v, npy.Float64s())
		}
		text, _ := os.ReadFile(paths[0])
		if got := c.ParamText(); got != string(text) {
			t.Errorf("%s: ParamText\n%q\nwant\n%q", paths[0], got, text)
		}
		if c.CCName != c.ForkName() {
			t.Errorf("%s: cc name %q, ForkName %q", paths[0], c.CCName, c.ForkName())
		}
	}
}

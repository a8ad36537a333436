package dataset

import (
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/npyfile"
)

func referenceRoot(t testing.TB) string {
	t.Helper()
	return refdata.Root(t)
}

// TestFlowsimBaseline loads the reference sets and checks flowsim's own loss
// against ns-3, the baseline the model must beat: m3 reports 0.14 on
// m3-shards and 0.155 / 0.165 / 0.174 on ns3-paths for H = 3 / 5 / 7.
func TestFlowsimBaseline(t *testing.T) {
	if !bindings.Native {
		t.Skip("flowsim slowdowns need the native library")
	}
	root := referenceRoot(t)
	cases := []struct {
		set   string
		hosts int
		n     int
		want  float64
	}{
		{"m3-shards", 3, 30, 0.14},
		{"ns3-paths", 3, 300, 0.155},
		{"ns3-paths", 5, 300, 0.165},
		{"ns3-paths", 7, 300, 0.174},
	}
	loaded := map[string][]*Sample{}
	for i, c := range cases {
		if testing.Short() && c.set == "ns3-paths" {
			continue
		}
		if loaded[c.set] == nil {
			s, err := Load(filepath.Join(root, c.set))
			if err != nil {
				t.Fatal(err)
			}
			loaded[c.set] = s
		}
		sum, n := 0.0, 0
		for _, s := range loaded[c.set] {
			if s.Hosts != c.hosts {
				continue
			}
			est, err := FlowsimEstimate(s.Dir, s.Hosts)
			if err != nil {
				t.Fatal(err)
			}
			sum += Loss(est, s.Target, s.Mask)
			n++
		}
		if n != c.n || math.Abs(sum/float64(n)-c.want) > 0.0025 {
			t.Errorf("case %d: %s H=%d: %d scenarios, flowsim loss %.4f; want %d, %.3f", i, c.set, c.hosts, n, sum/float64(n), c.n, c.want)
		}
	}
	// a scenario as m3 reads it: shapes, empty buckets, mask, CC
	s := loaded["m3-shards"][0]
	if s.Name() != "shard0_nflows100_nhosts3_lr10Gbps" || s.Hosts != 3 || len(s.Input.Res) != 3*1019 || len(s.Input.Empty) != 30 {
		t.Fatalf("first m3 shard: %s, %d hosts, %d values, %d flags", s.Name(), s.Hosts, len(s.Input.Res), len(s.Input.Empty))
	}
	z, _ := npyfile.ReadNPZ(filepath.Join(s.Dir, "feat_topo-pl-3_s0.npz"))
	nf := z["num_flows_per_cell"].Float64s()
	for i, e := range s.Input.Empty {
		if (nf[i*100] == 0) != (e == 1) {
			t.Errorf("row %d bucket %d: empty flag %d, flow share %g", i/10, i%10, e, nf[i*100])
		}
	}
	nfo := z["num_flows_per_cell_output"].Float64s()
	for i, m := range s.Mask {
		if (nfo[i] > 0) != (m == 1) {
			t.Fatalf("mask %d = %g, flow share %g", i, m, nfo[i])
		}
	}
	ccs := map[string]int{}
	for _, x := range loaded["m3-shards"] {
		ccs[x.CC]++
	}
	if ccs["dctcp"]+ccs["dcqcn"]+ccs["hpcc"]+ccs["timely"] != 30 {
		t.Errorf("CC of m3-shards: %v", ccs)
	}
}

func TestSplitKeepsTrafficDrawsTogether(t *testing.T) {
	var samples []*Sample
	for i := 0; i < 50; i++ {
		for _, h := range []int{3, 5, 7} {
			samples = append(samples, &Sample{Dir: "d", Group: "root/shard" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Hosts: h})
		}
	}
	tr, val := Split(samples, 0.1, 7)
	if len(val) != 15 || len(tr) != 135 {
		t.Fatalf("split %d/%d, want 135/15", len(tr), len(val))
	}
	side := map[string]bool{}
	for _, s := range tr {
		side[s.Group] = true
	}
	for _, s := range val {
		if side[s.Group] {
			t.Fatalf("group %s on both sides", s.Group)
		}
	}
	tr2, val2 := Split(samples, 0.1, 7)
	_, val3 := Split(samples, 0.1, 8)
	if !slices.Equal(tr, tr2) || !slices.Equal(val, val2) {
		t.Error("the same seed gives another split")
	}
	if slices.Equal(val, val3) {
		t.Error("another seed gives the same split")
	}
}

func TestReadFeatRejects(t *testing.T) {
	dir := t.TempDir()
	h := 3
	good := func() map[string]npyfile.Entry {
		res := make([]float32, h*features.RowWidth)
		nf := make([]float64, h*features.CellsPerRow)
		for i := range res {
			res[i] = 1.5
		}
		for i := range nf {
			nf[i] = 0.1
		}
		ro := make([]float32, features.OutputLen)
		nfo := make([]float32, features.OutputLen)
		for i := range ro {
			ro[i], nfo[i] = 2, 0.25
		}
		return map[string]npyfile.Entry{
			"res":                       {Name: "res", Data: res, Shape: []int{h, features.RowWidth}},
			"num_flows_per_cell":        {Name: "num_flows_per_cell", Data: nf, Shape: []int{h, features.CellsPerRow}},
			"res_output":                {Name: "res_output", Data: ro, Shape: []int{features.OutputLen}},
			"num_flows_per_cell_output": {Name: "num_flows_per_cell_output", Data: nfo, Shape: []int{features.OutputLen}},
			"n_input":                   {Name: "n_input", Data: []int64{int64(h)}, Shape: []int{}},
		}
	}
	cases := []struct {
		name string
		edit func(map[string]npyfile.Entry)
		want string
	}{
		{"good", func(map[string]npyfile.Entry) {}, ""},
		{"missing target", func(m map[string]npyfile.Entry) { delete(m, "res_output") }, "no array res_output"},
		{"wrong shape", func(m map[string]npyfile.Entry) {
			m["res"] = npyfile.Entry{Name: "res", Data: make([]float32, 2*features.RowWidth), Shape: []int{2, features.RowWidth}}
		}, "res has shape [2 1019], want [3 1019]"},
		{"n_input", func(m map[string]npyfile.Entry) {
			m["n_input"] = npyfile.Entry{Name: "n_input", Data: []int64{5}, Shape: []int{}}
		}, "n_input = [5]"},
		{"NaN feature", func(m map[string]npyfile.Entry) { m["res"].Data.([]float32)[1019+4] = float32(math.NaN()) }, "res[1][4] = NaN"},
		{"zero target", func(m map[string]npyfile.Entry) { m["res_output"].Data.([]float32)[17] = 0 }, "res_output[17] = 0"},
		{"negative share", func(m map[string]npyfile.Entry) { m["num_flows_per_cell"].Data.([]float64)[5] = -1 }, "num_flows_per_cell[0][5] = -1"},
		{"no foreground", func(m map[string]npyfile.Entry) {
			m["num_flows_per_cell_output"] = npyfile.Entry{Name: "num_flows_per_cell_output", Data: make([]float32, 400), Shape: []int{400}}
		}, "all zero"},
	}
	for i, c := range cases {
		m := good()
		c.edit(m)
		var entries []npyfile.Entry
		for _, e := range m {
			entries = append(entries, e)
		}
		path := filepath.Join(dir, "feat_topo-pl-3_s0.npz")
		if err := npyfile.WriteNPZ(path, entries); err != nil {
			t.Fatal(err)
		}
		s, err := ReadFeat(path, h)
		if c.want == "" {
			if errors.Is(err, bindings.ErrNoNative) {
				continue // m3's empty buckets are libm4's rule
			}
			if err != nil || s.Hosts != 3 || s.Mask[0] != 1 || s.Input.Empty[0] != 0 {
				t.Errorf("case %d (%s): %v", i, c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("case %d (%s): err = %v, want %q and the file name", i, c.name, err, c.want)
		}
	}
}

// TestBootstrap: the identity "resample" reproduces the shard's feature map
// (m3's feat_*.npz) exactly; a real resample differs but keeps its shape.
func TestBootstrap(t *testing.T) {
	if !bindings.Native {
		t.Skip("features need the native library")
	}
	root := referenceRoot(t)
	dir := filepath.Join(root, "ns3-paths", "shard174_nflows300_nhosts7_lr10Gbps")
	want, err := ReadFeat(filepath.Join(dir, "feat_topo-pl-7_s0.npz"), 7)
	if err != nil {
		t.Fatal(err)
	}
	want.Dir, want.Group = dir, "g"
	f, err := LoadFlows(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, f.Path.Len())
	for i := range idx {
		idx[i] = i
	}
	got, err := subset(f, idx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Input.Res {
		if d := math.Abs(float64(got.Input.Res[i] - want.Input.Res[i])); d > 1e-5*float64(want.Input.Res[i]) {
			t.Fatalf("res[%d] = %g, feat file %g", i, got.Input.Res[i], want.Input.Res[i])
		}
	}
	for i := range want.Target {
		if got.Target[i] != want.Target[i] || got.Mask[i] != want.Mask[i] {
			t.Fatalf("target %d: %g/%g, feat file %g/%g", i, got.Target[i], got.Mask[i], want.Target[i], want.Mask[i])
		}
	}
	fg, err := countForeground(dir, features.Tag(7, 0), 7)
	if err != nil {
		t.Fatal(err)
	}
	if fg == 0 || got.Foreground != fg {
		t.Fatalf("every flow drawn once: %d foreground flows, the shard has %d", got.Foreground, fg)
	}
	// the first foreground flow drawn twice, and flow j (not one) once
	i := slices.IndexFunc(idx, func(k int) bool { return f.Path.Src[k] == 0 && f.Path.Dst[k] == 6 && f.HasGT[k] })
	j := slices.IndexFunc(idx, func(k int) bool { return f.Path.Src[k] != 0 })
	if i < 0 || j < 0 {
		t.Fatal("the shard has no foreground flow or no other")
	}
	draw := []int{i, i, j}
	slices.Sort(draw)
	two, err := subset(f, draw)
	if err != nil {
		t.Fatal(err)
	}
	if two.Foreground != 2 {
		t.Fatalf("a foreground flow drawn twice and another flow: %d foreground flows, want 2", two.Foreground)
	}
	rs, err := Resamples([]*Sample{want}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Group != want.Group || rs[0].Hosts != 7 || len(rs[1].Input.Res) != len(want.Input.Res) {
		t.Fatalf("resamples %d", len(rs))
	}
	same := 0
	for i := range want.Target {
		if rs[0].Target[i] == want.Target[i] {
			same++
		}
	}
	if same == len(want.Target) {
		t.Error("a resample has the original target")
	}
}

// Resamples returns k bootstrap resamples of every sample (in order, k per
// sample), drawn with a PCG seeded by seed and the sample's index.
func Resamples(samples []*Sample, k int, seed uint64) ([]*Sample, error) {
	return ResamplesOf(samples, k, seed, nil)
}

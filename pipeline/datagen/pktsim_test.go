package datagen

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/scenario"
)

func readInt64s(t *testing.T, path string) []int64 {
	t.Helper()
	a, err := npyfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTruthOrderMatchesReference checks the fork's fct_to_file.py ordering on
// every reference scenario: given each flow's FCT and ideal FCT (from the
// reference files) and the start the fork schedules, truthArrays rebuilds
// fid, fct and fct_i exactly, ties included.
func TestTruthOrderMatchesReference(t *testing.T) {
	var dirs []string
	for _, set := range []string{"m3-shards", "ns3-paths"} {
		dirs = append(dirs, referenceDirs(t, set)...)
	}
	ties := 0
	for _, dir := range dirs {
		p, err := scenario.LoadShard(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		tag := features.Tag(p.Hosts, 0)
		fid := readInt64s(t, filepath.Join(dir, "fid_"+tag+".npy"))
		fct := readInt64s(t, filepath.Join(dir, "fct_"+tag+".npy"))
		fi := readInt64s(t, filepath.Join(dir, "fct_i_"+tag+".npy"))
		flows, err := pktsim.FlowsFromPath(p)
		if err != nil {
			t.Fatal(err)
		}
		gt := &GroundTruth{FCTNs: make([]float64, p.Len()), IdealNs: make([]float64, p.Len()), StartNs: make([]float64, p.Len())}
		for k, id := range fid {
			gt.FCTNs[id], gt.IdealNs[id] = float64(fct[k]), float64(fi[k])
		}
		for i, s := range flows.StartNs {
			gt.StartNs[i] = float64(s)
			if i > 0 && flows.StartNs[i-1] == s {
				ties++
			}
		}
		gfid, gfct, gfi, err := truthArrays(p, gt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gfid, fid) || !slices.Equal(gfct, fct) || !slices.Equal(gfi, fi) {
			t.Errorf("%s: m4's fid/fct/fct_i order differs from the fork's", dir)
		}
	}
	t.Logf("%d scenarios, %d flows starting together with the one before", len(dirs), ties)
}

// TestPktsimGroundTruth runs datagen's ground truth (the Pktsim adapter, fed
// the config text datagen writes) on reference scenarios of every CC and path
// length, writes the layout, and checks it against pktsim run directly on the
// reference folder; it logs how many FCTs equal ns-3's.
func TestPktsimGroundTruth(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	names := []string{"shard100_nflows300_nhosts3_lr10Gbps", "shard100_nflows300_nhosts5_lr10Gbps", // TIMELY
		"shard102_nflows300_nhosts5_lr10Gbps", "shard109_nflows300_nhosts7_lr10Gbps", // HPCC
		"shard104_nflows300_nhosts3_lr10Gbps", "shard108_nflows300_nhosts7_lr10Gbps", // DCQCN
		"shard106_nflows300_nhosts3_lr10Gbps", "shard107_nflows300_nhosts5_lr10Gbps"} // DCTCP
	same, total := 0, 0
	for _, name := range names {
		dir := filepath.Join(referenceRoot(t), "ns3-paths", name)
		shard, direct, err := pktsim.RunShard(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		p := shard.Path
		tag := features.Tag(p.Hosts, 0)
		cfgText, _ := os.ReadFile(shard.ConfigFile)
		gt, err := Pktsim{MaxWallSeconds: 60}.Simulate(p, string(cfgText))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(gt.Log, fmt.Sprintf("CC_MODE %d", shard.Config.CCMode)) {
			t.Errorf("%s: log %q", name, gt.Log)
		}
		out := t.TempDir()
		param, err := features.ReadParamText(filepath.Join(dir, "param_"+tag+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		sc := &Scenario{Name: name, Config: param, NS3: string(cfgText), Traffic: &Traffic{Path: p}}
		est := readFloat64s(t, filepath.Join(dir, "fct_flowsim.npy"))
		if err := writeShard(out, sc, est, gt); err != nil {
			t.Fatal(err)
		}
		fid := readInt64s(t, filepath.Join(out, "fid_"+tag+".npy"))
		fct := readInt64s(t, filepath.Join(out, "fct_"+tag+".npy"))
		fi := readInt64s(t, filepath.Join(out, "fct_i_"+tag+".npy"))
		for k, id := range fid {
			if fct[k] != max(direct.FCTNs[id], direct.IdealNs[id]) || fi[k] != direct.IdealNs[id] {
				t.Fatalf("%s: entry %d (flow %d): datagen fct %d / ideal %d, pktsim on the folder %d / %d",
					name, k, id, fct[k], fi[k], direct.FCTNs[id], direct.IdealNs[id])
			}
		}
		ref := readInt64s(t, filepath.Join(dir, "fct_"+tag+".npy"))
		refFid := readInt64s(t, filepath.Join(dir, "fid_"+tag+".npy"))
		if slices.Equal(fid, refFid) {
			for k := range ref {
				if ref[k] == fct[k] {
					same++
				}
			}
		}
		total += len(ref)
	}
	t.Logf("%d scenarios (4 CCs, 3/5/7 hosts): %d of %d FCTs equal ns-3's", len(names), same, total)
}

func readFloat64s(t *testing.T, path string) []float64 {
	t.Helper()
	a, err := npyfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return a.Float64s()
}

// TestRunWithPktsim makes scenarios with pktsim's ground truth and checks that
// m4 pktsim, run on a written folder (its config_*.txt and arrays), gives the
// FCTs datagen stored.
func TestRunWithPktsim(t *testing.T) {
	needNative(t)
	spec := tinySpec()
	out := t.TempDir()
	r, err := Run(t.Context(), spec, Options{Out: out, Workers: 2, Sim: Pktsim{MaxWallSeconds: 60}})
	if err != nil || r.Done != spec.Scenarios() {
		t.Fatalf("%+v %v", r, err)
	}
	for i := 0; i < spec.Scenarios(); i++ {
		it := spec.Item(i)
		dir := filepath.Join(out, spec.Name(it))
		_, res, err := pktsim.RunShard(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		tag := features.Tag(it.Hosts, 0)
		fid := readInt64s(t, filepath.Join(dir, "fid_"+tag+".npy"))
		fct := readInt64s(t, filepath.Join(dir, "fct_"+tag+".npy"))
		for k, id := range fid {
			if fct[k] != max(res.FCTNs[id], res.IdealNs[id]) {
				t.Fatalf("%s: flow %d: stored %d, pktsim on the folder %d", dir, id, fct[k], res.FCTNs[id])
			}
		}
		m, err := features.FromShard(dir, 0, 0)
		if err != nil || m.Output == nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
}

package pktsim

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/scenario"
)

// referenceSubset returns every m3 shard and, from ns3-paths, the first
// perGroup scenarios (in name order) of every CC mode and path length.
func referenceSubset(t *testing.T, perGroup int) []string {
	ref := referenceDir(t)
	m3, err := FindShards(filepath.Join(ref, "m3-shards"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := FindShards(filepath.Join(ref, "ns3-paths"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(all)
	type key struct{ cc, h int }
	got := map[key]int{}
	out := append([]string(nil), m3...)
	for _, d := range all {
		sh, err := LoadShard(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		k := key{sh.Config.CCMode, sh.Path.Hosts}
		if got[k] < perGroup {
			got[k]++
			out = append(out, d)
		}
	}
	if len(got) != 12 {
		t.Fatalf("ns3-paths has %d (CC, H) groups, want 4 x 3", len(got))
	}
	return out
}

// The fork is deterministic and pktsim follows its event order and
// arithmetic, so every flow's FCT (clamped to the ideal, as the reference
// stores it) and ideal FCT must equal ns-3's to the nanosecond. The full
// set of 930 runs in `m4 pktsim --validate` (docs/accuracy.md).
func TestReferenceExact(t *testing.T) {
	needNative(t)
	per := 3
	if testing.Short() {
		per = 1
	}
	dirs := referenceSubset(t, per)
	reps := ValidateShards(dirs, 0, Options{}, nil)
	for _, r := range reps {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Dir, r.Err)
			continue
		}
		if r.Exact != r.Flows || r.IdealOK != r.Flows {
			t.Errorf("%s (%s, H=%d): %d of %d FCTs and %d ideal FCTs equal ns-3's; p99 slowdown %.4f vs %.4f",
				filepath.Base(r.Dir), CCName(r.CCMode), r.Hosts, r.Exact, r.Flows, r.IdealOK, r.Ours[2], r.Theirs[2])
		}
		if !r.OK() {
			t.Errorf("%s: misses the statistical bar: %+v", r.Dir, r)
		}
	}
	t.Logf("%d scenarios compared", len(reps))
}

// Each config in the reference parses, and writing it back gives an
// equivalent config.
func TestReferenceConfigsRoundTrip(t *testing.T) {
	for _, d := range referenceSubset(t, 2) {
		sh, err := LoadShard(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig("back", stringsReader(sh.Config.Format()))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		a, _ := sh.Config.Native()
		b, _ := back.Native()
		if !equalNative(a, b) {
			t.Errorf("%s: round trip changed the simulated config", d)
		}
	}
}

// DCQCN marks randomly between KMIN and KMAX, drawing from ns-3's RNG
// streams: ForkStreamBase (6 per node + 2) reproduces ns-3 exactly, and
// the neighbouring stream bases do not (so the draws are really used).
func TestForkStreamBase(t *testing.T) {
	needNative(t)
	dir := filepath.Join(referenceDir(t), "ns3-paths", "shard112_nflows300_nhosts3_lr10Gbps")
	sh, err := LoadShard(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := LoadReference(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := ForkStreamBase(sh.Topology)
	if sh.Config.CCMode != 1 || base != 26 {
		t.Fatalf("cc %d, stream base %d: want a DCQCN scenario on topo-pl-3 (base 26)", sh.Config.CCMode, base)
	}
	for _, k := range []uint64{base - 1, base, base + 1} {
		res, err := sh.Run(Options{RNGStreamBase: &k})
		if err != nil {
			t.Fatal(err)
		}
		exact := 0
		for i, fid := range ref.FID {
			if max(res.FCTNs[fid], res.IdealNs[fid]) == ref.FCTNs[i] {
				exact++
			}
		}
		if (k == base) != (exact == len(ref.FID)) {
			t.Errorf("stream base %d: %d of %d FCTs exact", k, exact, len(ref.FID))
		}
	}
}

// IdealFloat returns the ideal FCTs as float64 ns.
func (r *Result) IdealFloat() []float64 {
	out := make([]float64, len(r.IdealNs))
	for i, v := range r.IdealNs {
		out[i] = float64(v)
	}
	return out
}

// Summary is a one-line account of the run, for logs.
func (r *Result) Summary() string {
	s := r.Stats
	return fmt.Sprintf("pktsim: %d flows, %d events, %d packets, %d ECN marks, %d PFC pauses, %d drops, last event at %d ns",
		len(r.FCTNs), s.Events, s.Packets, s.ECNMarks, s.PFCPauses, s.Drops, s.EndNs)
}

// SimulatePath runs a path scenario on the parking-lot path topo-pl-H under
// a config given as config_*.txt text (its *_FILE keys are ignored), the
// steps datagen's Pktsim takes for each scenario it draws. Flows get ids
// 0..n-1, priority group 3 and port 100, and start at p.ArrivalNs as the
// m3 generator writes them ("%.9f" seconds). The result is per flow in p's
// order; FCTClamped and IdealFloat give the reference fct/fct_i values.
func SimulatePath(p *scenario.Path, configText string) (*Result, error) {
	cfg, err := ParseConfig(p.Name+" config", strings.NewReader(configText))
	if err != nil {
		return nil, err
	}
	topo, err := ParkingLot(p.Hosts)
	if err != nil {
		return nil, err
	}
	fl, err := FlowsFromPath(p)
	if err != nil {
		return nil, err
	}
	return Simulate(cfg, topo, fl)
}

// SimulatePath (datagen's steps) gives the reference arrays too.
func TestSimulatePath(t *testing.T) {
	needNative(t)
	dir := filepath.Join(referenceDir(t), "ns3-paths", "shard107_nflows300_nhosts5_lr10Gbps")
	sh, err := LoadShard(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(sh.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := SimulatePath(sh.Path, string(text))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := LoadReference(dir)
	fct, ideal := res.FCTClamped(), res.IdealFloat()
	for k, id := range ref.FID {
		if fct[id] != float64(ref.FCTNs[k]) || ideal[id] != float64(ref.IdealNs[k]) {
			t.Fatalf("flow %d: %v/%v, ns-3 %d/%d", id, fct[id], ideal[id], ref.FCTNs[k], ref.IdealNs[k])
		}
	}
	if !strings.Contains(res.Summary(), "flows") {
		t.Error(res.Summary())
	}
}

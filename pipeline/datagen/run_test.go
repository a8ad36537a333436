package datagen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

func tinySpec() *Spec {
	s := DefaultSpec()
	s.Seed = 3
	s.Shards = ShardRange{First: 0, Count: 3}
	s.Hosts = []int{3, 7}
	s.FlowsPerPair = 30
	return &s
}

func needNative(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
}

// layoutFiles are the files of a scenario without ground truth.
func layoutFiles(h int) []string {
	tag := features.Tag(h, 0)
	return []string{"config_topo-pl-" + fmt.Sprint(h) + "_flows_s0.txt", "fat.npy", "fct_flowsim.npy", "feat_" + tag + ".npz",
		"fsd.npy", "fsize.npy", "param_" + tag + ".npy", "param_" + tag + ".txt", "stats.json", "stats.npy"}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestRunLayoutResumeAndSplit(t *testing.T) {
	needNative(t)
	spec := tinySpec()
	out := t.TempDir()
	ctx := context.Background()
	r, err := Run(ctx, spec, Options{Out: out, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Done != 6 || r.Skipped != 0 || len(r.Failed) != 0 {
		t.Fatalf("first run: %+v", r)
	}
	for i := 0; i < spec.Scenarios(); i++ {
		it := spec.Item(i)
		dir := filepath.Join(out, spec.Name(it))
		if got, want := listDir(t, dir), layoutFiles(it.Hosts); !slices.Equal(got, want) {
			t.Errorf("%s: files %v, want %v", dir, got, want)
		}
		// m4's own loaders read it back, and the feature map has no target.
		p, err := scenario.LoadShard(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.Hosts != it.Hosts {
			t.Errorf("%s: %d hosts", dir, p.Hosts)
		}
		m, err := features.FromShard(dir, 0, 0)
		if err != nil || m.Output != nil {
			t.Fatalf("%s: features %v, output %v", dir, err, m.Output)
		}
		feat, err := npyfile.ReadNPZ(filepath.Join(dir, "feat_"+features.Tag(it.Hosts, 0)+".npz"))
		if err != nil || !slices.Equal(feat["res"].Data.([]float32), m.Input.Res) {
			t.Errorf("%s: stored feature map differs from a rebuild (%v)", dir, err)
		}
		st, err := ReadStatsNPY(filepath.Join(dir, "stats.npy"))
		if err != nil || st.NFlows != p.Len() {
			t.Errorf("%s: stats %+v %v", dir, st, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); err != nil {
		t.Error(err)
	}

	// Resume: nothing to do; then a lost scenario and a half-written
	// leftover: only that one is made again, identically, and the leftover
	// is gone.
	if r, err = Run(ctx, spec, Options{Out: out, Workers: 2}); err != nil || r.Done != 0 || r.Skipped != 6 {
		t.Fatalf("second run: %+v %v", r, err)
	}
	lost := spec.Name(spec.Item(4))
	before, _ := os.ReadFile(filepath.Join(out, lost, "feat_"+features.Tag(3, 0)+".npz"))
	os.RemoveAll(filepath.Join(out, lost))
	partial := filepath.Join(out, partialPrefix+lost+"-12345")
	os.MkdirAll(partial, 0o755)
	os.WriteFile(filepath.Join(partial, "fat.npy"), []byte("half"), 0o644)
	if r, err = Run(ctx, spec, Options{Out: out, Workers: 1}); err != nil || r.Done != 1 || r.Skipped != 5 {
		t.Fatalf("third run: %+v %v", r, err)
	}
	after, _ := os.ReadFile(filepath.Join(out, lost, "feat_"+features.Tag(3, 0)+".npz"))
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Error("a remade scenario differs from the first make")
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("half-written folder survived: %v", err)
	}

	// Two tasks of a split make every scenario once, the same bytes.
	split := t.TempDir()
	made := 0
	for i := 0; i < 2; i++ {
		r, err := Run(ctx, spec, Options{Out: split, Task: Task{Index: i, Count: 2}, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.Mine != 3 {
			t.Errorf("task %d/2 owns %d scenarios, want 3", i, r.Mine)
		}
		made += r.Done
	}
	if made != 6 {
		t.Errorf("split made %d scenarios, want 6", made)
	}
	for i := 0; i < spec.Scenarios(); i++ {
		name := spec.Name(spec.Item(i))
		a, _ := os.ReadFile(filepath.Join(out, name, "fat.npy"))
		b, _ := os.ReadFile(filepath.Join(split, name, "fat.npy"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: split run differs", name)
		}
	}

	// Another spec into the same folder is refused.
	other := *spec
	other.Seed++
	if _, err := Run(ctx, &other, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "another spec") {
		t.Errorf("mixing specs: %v", err)
	}
	// --only names a scenario of the spec; a wrong name leaves nothing.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Run(ctx, spec, Options{Out: fresh, Only: []string{"shard99_nflows1_nhosts3_lr10Gbps"}}); err == nil ||
		err.Error() != "--only shard99_nflows1_nhosts3_lr10Gbps: not a scenario of this spec" {
		t.Errorf("--only with a foreign name: %v", err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--only with a foreign name left %s: %v", fresh, err)
	}
}

// arithSim is a test simulator with an exact answer: ideal = 1000 + 8*size
// ns, FCT = 3 * ideal. It fails (an error or a panic) on chosen scenarios.
type arithSim struct{ panicOn, errOn string }

func (arithSim) Name() string { return "arith" }

func (s arithSim) Simulate(p *scenario.Path, cfg string) (*GroundTruth, error) {
	switch p.Name {
	case s.panicOn:
		var m map[string]int
		m["boom"]++ // a nil-map write: a real runtime panic
	case s.errOn:
		return nil, fmt.Errorf("event budget exceeded")
	}
	if !strings.Contains(cfg, "CC_MODE") {
		return nil, fmt.Errorf("no config")
	}
	gt := &GroundTruth{Log: "arith: " + p.Name + "\n"}
	for _, sz := range p.SizeBytes {
		ideal := 1000 + 8*sz
		gt.IdealNs = append(gt.IdealNs, ideal)
		gt.FCTNs = append(gt.FCTNs, 3*ideal)
	}
	return gt, nil
}

func TestRunTruthAndFailures(t *testing.T) {
	needNative(t)
	spec := tinySpec()
	out := t.TempDir()
	sim := arithSim{panicOn: spec.Name(spec.Item(1)), errOn: spec.Name(spec.Item(2))}
	r, err := Run(context.Background(), spec, Options{Out: out, Workers: 2, Sim: sim})
	if err != nil {
		t.Fatal(err)
	}
	if r.Done != 4 || len(r.Failed) != 2 {
		t.Fatalf("report %+v", r)
	}
	for _, f := range r.Failed {
		msg := f.Error()
		if !strings.Contains(msg, f.Name) || !strings.Contains(msg, fmt.Sprintf("seed %d", spec.seedOf(f.Item))) {
			t.Errorf("failure %q does not name the scenario and its seed", msg)
		}
		if f.Name == sim.panicOn && !strings.Contains(msg, "panic") {
			t.Errorf("panic reported as %q", msg)
		}
		if f.Name == sim.errOn && !strings.Contains(msg, "event budget") {
			t.Errorf("error reported as %q", msg)
		}
		if _, err := os.Stat(filepath.Join(out, f.Name)); !os.IsNotExist(err) {
			t.Errorf("%s: failed scenario left a folder", f.Name)
		}
	}
	for _, name := range listDir(t, out) {
		if strings.HasPrefix(name, partialPrefix) {
			t.Errorf("partial folder %s left behind", name)
		}
	}
	it := spec.Item(3)
	dir := filepath.Join(out, spec.Name(it))
	tag := features.Tag(it.Hosts, 0)
	want := append(layoutFiles(it.Hosts), "fct_"+tag+".npy", "fct_i_"+tag+".npy", "fid_"+tag+".npy", "pdrop_"+tag+".txt")
	slices.Sort(want)
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	p, _ := scenario.LoadShard(dir, 0)
	truth, err := features.ReadTruth(dir, tag, p.Len())
	if err != nil {
		t.Fatal(err)
	}
	for k, id := range truth.FID {
		if k > 0 && p.ArrivalNs[id] < p.ArrivalNs[truth.FID[k-1]] {
			t.Fatalf("fid not in start-time order at %d", k)
		}
		if truth.Ideal[k] != 1000+8*p.SizeBytes[id] || truth.FCT[k] != 3*truth.Ideal[k] {
			t.Fatalf("entry %d (flow %d): fct %v, ideal %v", k, id, truth.FCT[k], truth.Ideal[k])
		}
	}
	m, err := features.FromShard(dir, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for b, n := range m.Output.Counts {
		for k := 0; k < features.NumPercentiles; k++ {
			v := m.Output.ResOutput[b*features.NumPercentiles+k]
			if (n > 0 && v != 3) || (n == 0 && v != 1) {
				t.Fatalf("res_output bucket %d (%d flows) p%d = %v", b, n, k+1, v)
			}
		}
	}
	// A rerun with the failures fixed makes just those two.
	r, err = Run(context.Background(), spec, Options{Out: out, Workers: 2, Sim: arithSim{}})
	if err != nil || r.Done != 2 || r.Skipped != 4 {
		t.Errorf("rerun: %+v %v", r, err)
	}
	// Ground truth is part of the manifest: a run without it is refused.
	if _, err := Run(context.Background(), spec, Options{Out: out}); err == nil {
		t.Error("a run without ground truth into a folder with it was accepted")
	}
}

// TestRunExtends checks that a larger shards range or host list extends a
// data set in place, and that the scenarios made first are kept as they are.
func TestRunExtends(t *testing.T) {
	needNative(t)
	spec := tinySpec()
	spec.Hosts = []int{5}
	out := t.TempDir()
	if r, err := Run(context.Background(), spec, Options{Out: out}); err != nil || r.Done != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	first := filepath.Join(out, spec.Name(spec.Item(1)), "fat.npy")
	before, _ := os.ReadFile(first)
	spec.Shards.Count = 5
	spec.Hosts = []int{3, 5}
	r, err := Run(context.Background(), spec, Options{Out: out})
	if err != nil || r.Done != 7 || r.Skipped != 3 {
		t.Fatalf("extension: %+v %v", r, err)
	}
	after, _ := os.ReadFile(first)
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Error("a scenario changed when the data set was extended")
	}
}

package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/npyfile"
)

func TestFeaturesCommandMatchesReference(t *testing.T) {
	dir := filepath.Join(reference(t), "ns3-paths", "shard101_nflows300_nhosts7_lr10Gbps")
	out := filepath.Join(t.TempDir(), "feat.npz")
	msg, err := run(t, "features", "--shard", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "input and target") {
		t.Errorf("output %q", msg)
	}
	got, err := npyfile.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := npyfile.ReadNPZ(filepath.Join(dir, "feat_topo-pl-7_s0.npz"))
	if len(got) != 5 {
		t.Fatalf("%d arrays, want 5", len(got))
	}
	for name, w := range want {
		g := got[name]
		if g == nil || g.Dtype != w.Dtype || len(g.Shape) != len(w.Shape) {
			t.Fatalf("%s: %+v, reference %s %v", name, g, w.Dtype, w.Shape)
		}
		if w.Dtype == "<i8" {
			gi, _ := g.Int64s()
			wi, _ := w.Int64s()
			if gi[0] != wi[0] {
				t.Errorf("%s = %d, want %d", name, gi[0], wi[0])
			}
			continue
		}
		gf, wf := g.Float64s(), w.Float64s()
		for i := range wf {
			if math.Abs(gf[i]-wf[i]) > 1e-5*math.Abs(wf[i]) {
				t.Fatalf("%s[%d] = %v, want %v", name, i, gf[i], wf[i])
			}
		}
	}
}

// copyShard copies the named files of a reference shard into a new folder.
func copyShard(t *testing.T, src string, names ...string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	os.MkdirAll(dst, 0o755)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, n), b, 0o644)
	}
	return dst
}

func TestFeaturesCommandWithoutTruthAndBadInput(t *testing.T) {
	src := filepath.Join(reference(t), "ns3-paths", "shard102_nflows300_nhosts3_lr10Gbps")
	dir := copyShard(t, src, "fat.npy", "fsize.npy", "fsd.npy", "param_topo-pl-3_s0.npy", "param_topo-pl-3_s0.txt")
	out := filepath.Join(t.TempDir(), "feat.npz")
	msg, err := run(t, "features", "--shard", dir, "--out", out)
	if err != nil || !strings.Contains(msg, "input only") {
		t.Fatalf("%q %v", msg, err)
	}
	got, _ := npyfile.ReadNPZ(out)
	want, _ := npyfile.ReadNPZ(filepath.Join(src, "feat_topo-pl-3_s0.npz"))
	if got["res_output"] != nil || got["res"] == nil || got["n_input"] == nil {
		t.Errorf("input-only map holds %v", got)
	}
	g, w := got["res"].Float64s(), want["res"].Float64s()
	for i := range w {
		if math.Abs(g[i]-w[i]) > 1e-5*math.Abs(w[i]) {
			t.Fatalf("res[%d] = %v, want %v", i, g[i], w[i])
		}
	}
	// --params from the text file gives the same map.
	os.Remove(filepath.Join(dir, "param_topo-pl-3_s0.npy"))
	if _, err := run(t, "features", "--shard", dir, "--out", out); err == nil || !strings.Contains(err.Error(), "param_topo-pl-3_s0.npy") {
		t.Errorf("missing param file: %v", err)
	}
	if _, err := run(t, "features", "--shard", dir, "--out", out, "--params", filepath.Join(dir, "param_topo-pl-3_s0.txt")); err != nil {
		t.Fatal(err)
	}
	again, _ := npyfile.ReadNPZ(out)
	if a := again["res"].Float64s(); a[len(a)-1] != g[len(g)-1] || a[1005] != g[1005] {
		t.Error("--params from param_*.txt differs from param_*.npy")
	}
	// Partial ground truth, a wrong output name, a wrong sample.
	b, _ := os.ReadFile(filepath.Join(src, "fid_topo-pl-3_s0.npy"))
	os.WriteFile(filepath.Join(dir, "fid_topo-pl-3_s0.npy"), b, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--out", out, "--params", filepath.Join(dir, "param_topo-pl-3_s0.txt")}, "fct_topo-pl-3_s0.npy"},
		{[]string{"--out", filepath.Join(t.TempDir(), "x.txt")}, ".npz"},
		{[]string{"--out", out, "--sample", "-1"}, "--sample"},
	}
	for i, c := range cases {
		_, err := run(t, append([]string{"features", "--shard", dir}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want an error naming %s", i, err, c.want)
		}
	}
}

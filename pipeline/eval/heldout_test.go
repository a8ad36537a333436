package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
)

// TestHeldOut: the table's statistics by hand on two eval.json files (one
// run estimated twice, another once), the SHA-256 of the named file, and a
// workload estimated by another checkpoint refused with its file and field.
func TestHeldOut(t *testing.T) {
	dir := t.TempDir()
	shipped := func(alg cc.CC) (string, string, []byte) {
		return "shipped " + string(alg), string(alg) + ".safetensors", []byte("bytes of " + string(alg))
	}
	// m4 / truth - 1 for <1KB p99: run A -0.2 and +0.05, run B +0.3
	// busiest links: run A at load 0.6, B at 0.3 (C: none recorded)
	load := map[string]float64{"A": 0.6, "B": 0.3}
	write := func(name string, m4 []float64, runs []string, ckpt string) string {
		var ws []caseJSON
		for i, v := range m4 {
			ws = append(ws, caseJSON{Workload: runs[i], CC: "dctcp", Checkpoint: ckpt, BusiestLoad: load[runs[i]],
				Rows: []rowJSON{{Bucket: "<1KB", Quantile: 0.99, Truth: 2, M4: 2 * (1 + v)}}})
		}
		b, _ := json.Marshal(map[string]any{"workloads": ws})
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f1 := write("s1.json", []float64{-0.2, 0.3}, []string{"A", "B"}, "shipped dctcp")
	f2 := write("s2.json", []float64{0.05}, []string{"A"}, "shipped dctcp")
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	check := func(what string, c ckpts.HeldOutCell, want ckpts.HeldOutCell) {
		t.Helper()
		if c.Bucket != want.Bucket || c.Quantile != want.Quantile || !near(c.SignedMedian, want.SignedMedian) ||
			!near(c.AbsMedian, want.AbsMedian) || !near(c.AbsP90, want.AbsP90) || !near(c.Within10, want.Within10) {
			t.Errorf("%s: cell %+v, want %+v", what, c, want)
		}
	}
	for _, bands := range []int{1, 2} {
		tab, err := HeldOut([]string{f1, f2}, shipped, "two runs", bands)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Source != "two runs" || len(tab.Algorithms) != 1 {
			t.Fatalf("%+v", tab)
		}
		a := tab.Algorithms[0]
		if a.CC != "dctcp" || a.Checkpoint != "dctcp.safetensors" || a.SHA256 != ckpts.FileSHA256([]byte("bytes of dctcp")) || a.Runs != 2 || a.Evals != 3 || len(a.Cells) != 1 {
			t.Fatalf("%+v", a)
		}
		// signed {-0.2, 0.05, 0.3}: median 0.05; |.| {0.05, 0.2, 0.3}: median 0.2,
		// nearest-rank p90 (3rd of 3) 0.3; within 10%: 1 of 3
		check("every run", a.Cells[0], ckpts.HeldOutCell{Bucket: "<1KB", Quantile: 0.99, SignedMedian: 0.05, AbsMedian: 0.2, AbsP90: 0.3, Within10: 1.0 / 3})
		if bands == 1 {
			if a.ByLoad != nil {
				t.Errorf("one band: by_load %+v", a.ByLoad)
			}
			continue
		}
		// lightest first: B (0.3) alone, then A (0.6) with its two estimates
		if len(a.ByLoad) != 2 {
			t.Fatalf("by_load %+v", a.ByLoad)
		}
		lo, hi := a.ByLoad[0], a.ByLoad[1]
		if lo.LoadMin != 0.3 || lo.LoadMax != 0.3 || lo.Runs != 1 || lo.Evals != 1 || hi.LoadMin != 0.6 || hi.LoadMax != 0.6 || hi.Runs != 1 || hi.Evals != 2 {
			t.Fatalf("bands %+v, %+v", lo, hi)
		}
		check("band 0.3", lo.Cells[0], ckpts.HeldOutCell{Bucket: "<1KB", Quantile: 0.99, SignedMedian: 0.3, AbsMedian: 0.3, AbsP90: 0.3, Within10: 0})
		// {-0.2, 0.05}: median -0.075, |.| median 0.125, p90 0.2, within 1 of 2
		check("band 0.6", hi.Cells[0], ckpts.HeldOutCell{Bucket: "<1KB", Quantile: 0.99, SignedMedian: -0.075, AbsMedian: 0.125, AbsP90: 0.2, Within10: 0.5})
	}

	other := write("s3.json", []float64{0}, []string{"C"}, "ck.safetensors")
	if _, err := HeldOut([]string{f1, other}, shipped, "", 1); err == nil || !strings.Contains(err.Error(), "s3.json: workloads[0].checkpoint") {
		t.Errorf("a workload of another checkpoint: %v", err)
	}
	noLoad := write("s4.json", []float64{0}, []string{"C"}, "shipped dctcp")
	if _, err := HeldOut([]string{f1, noLoad}, shipped, "", 2); err == nil || !strings.Contains(err.Error(), "s4.json: workloads[0].busiest_load") {
		t.Errorf("bands without a run's load: %v", err)
	}
	if _, err := HeldOut([]string{f1, noLoad}, shipped, "", 1); err != nil {
		t.Errorf("one band needs no load: %v", err)
	}
	if _, err := HeldOut([]string{f1}, shipped, "", 3); err == nil || !strings.Contains(err.Error(), "2 runs for 3 load bands") {
		t.Errorf("more bands than runs: %v", err)
	}
}

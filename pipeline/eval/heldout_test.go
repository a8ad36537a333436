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
	write := func(name string, m4 []float64, runs []string, ckpt string) string {
		var ws []caseJSON
		for i, v := range m4 {
			ws = append(ws, caseJSON{Workload: runs[i], CC: "dctcp", Checkpoint: ckpt,
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
	tab, err := HeldOut([]string{f1, f2}, shipped, "two runs")
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
	c := a.Cells[0]
	// signed {-0.2, 0.05, 0.3}: median 0.05; |.| {0.05, 0.2, 0.3}: median 0.2,
	// nearest-rank p90 (3rd of 3) 0.3; within 10%: 1 of 3
	want := ckpts.HeldOutCell{Bucket: "<1KB", Quantile: 0.99, SignedMedian: 0.05, AbsMedian: 0.2, AbsP90: 0.3, Within10: 1.0 / 3}
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-12 }
	if c.Bucket != want.Bucket || c.Quantile != want.Quantile || !near(c.SignedMedian, want.SignedMedian) ||
		!near(c.AbsMedian, want.AbsMedian) || !near(c.AbsP90, want.AbsP90) || !near(c.Within10, want.Within10) {
		t.Errorf("cell %+v, want %+v", c, want)
	}

	other := write("s3.json", []float64{0}, []string{"C"}, "ck.safetensors")
	if _, err := HeldOut([]string{f1, other}, shipped, ""); err == nil || !strings.Contains(err.Error(), "s3.json: workloads[0].checkpoint") {
		t.Errorf("a workload of another checkpoint: %v", err)
	}
}

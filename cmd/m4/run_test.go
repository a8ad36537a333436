package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
)

func TestRunCommandWithTruth(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "w.yaml")
	os.WriteFile(spec, []byte(`
topology: {kind: fattree, k: 4}
sizes: {dist: webserver}
traffic: {matrix: uniform}
max_load: 0.4
flows: 1500
seed: 2
cc: {algorithm: dctcp, window_bytes: 18000, pfc: true}
`), 0o644)
	out := filepath.Join(dir, "out")
	text, err := run(t, "run", "--spec", spec, "--paths", "0", "--truth", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| all | 1500 |", "truth p50", "m4 err p50", "flowsim err p50"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "estimate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Estimates map[string][]struct {
			Bucket      string    `json:"bucket"`
			Flows       float64   `json:"flows"`
			Percentiles []float64 `json:"slowdown_percentiles"`
		} `json:"estimates"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"truth", "m4", "flowsim"} {
		bs := doc.Estimates[name]
		if len(bs) == 0 || bs[len(bs)-1].Bucket != "all" || bs[len(bs)-1].Flows != 1500 || len(bs[0].Percentiles) != 100 {
			t.Fatalf("estimate.json %s: %+v", name, bs)
		}
		for _, b := range bs {
			for k := 1; k < 100; k++ {
				if b.Percentiles[k] < b.Percentiles[k-1] || b.Percentiles[0] < 1 {
					t.Fatalf("%s %s: percentiles not ascending from >= 1: %v", name, b.Bucket, b.Percentiles)
				}
			}
		}
	}
	for _, f := range []string{"slowdown_cdf.png", "slowdown_cdf.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRunCommandBadSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "bad.yaml")
	os.WriteFile(spec, []byte("topology: {kind: fattree, k: 5}\nmax_load: 0.4\nflows: 10\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, err := run(t, "run", "--spec", spec, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "k") {
		t.Fatalf("error %v, want one naming bad.yaml and k", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output folder created for a bad spec")
	}
}

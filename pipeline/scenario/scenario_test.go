package scenario

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/npyfile"
)

// writeShard writes a shard folder with the given arrays.
func writeShard(t *testing.T, fat, fsize []int64, fsd []int32) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shard0_nflows1_nhosts3_lr10Gbps")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(npyfile.Write(filepath.Join(dir, "fat.npy"), fat, nil))
	must(npyfile.Write(filepath.Join(dir, "fsize.npy"), fsize, nil))
	must(npyfile.Write(filepath.Join(dir, "fsd.npy"), fsd, []int{len(fsd) / 2, 2}))
	return dir
}

func TestLoadShard(t *testing.T) {
	dir := writeShard(t, []int64{10, 20}, []int64{1000, 2000}, []int32{0, 2, 1, 2})
	p, err := LoadShard(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts != 3 || p.Len() != 2 || p.ArrivalNs[1] != 20 || p.SizeBytes[1] != 2000 || p.Src[1] != 1 || p.Dst[1] != 2 {
		t.Fatalf("loaded %+v", p)
	}
}

func TestLoadShardBadInput(t *testing.T) {
	cases := []struct {
		name      string
		fat       []int64
		fsize     []int64
		fsd       []int32
		hosts     int
		wantFile  string
		wantInErr string
	}{
		{"negative size", []int64{1, 2}, []int64{10, -5}, []int32{0, 2, 0, 2}, 0, "fsize.npy", "size of flow 1"},
		{"negative time", []int64{-1}, []int64{10}, []int32{0, 2}, 0, "fat.npy", "arrival time of flow 0"},
		{"unsorted", []int64{5, 1}, []int64{10, 10}, []int32{0, 2, 0, 2}, 0, "fat.npy", "ascending"},
		{"src == dst", []int64{1}, []int64{10}, []int32{1, 1}, 0, "fsd.npy", "src == dst"},
		{"host outside", []int64{1}, []int64{10}, []int32{0, 3}, 0, "fsd.npy", "outside the 3-host path"},
		{"host outside with --hosts", []int64{1}, []int64{10}, []int32{0, 2}, 2, "fsd.npy", "outside the 2-host path"},
		{"mismatched lengths", []int64{1, 2}, []int64{10}, []int32{0, 2, 0, 2}, 0, "fsize.npy", "mismatched lengths"},
	}
	for i, c := range cases {
		dir := writeShard(t, c.fat, c.fsize, c.fsd)
		_, err := LoadShard(dir, c.hosts)
		if err == nil {
			t.Errorf("case %d (%s): accepted", i, c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.wantFile) || !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("case %d (%s): error %q, want it to name %s and say %q", i, c.name, err, c.wantFile, c.wantInErr)
		}
	}
}

func TestLoadShardNaNAndTruncated(t *testing.T) {
	dir := writeShard(t, []int64{1}, []int64{10}, []int32{0, 2})
	// a float size array with a NaN
	if err := npyfile.Write(filepath.Join(dir, "fsize.npy"), []float64{math.NaN()}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadShard(dir, 0); err == nil || !strings.Contains(err.Error(), "fsize.npy") {
		t.Errorf("NaN size: error %v, want one naming fsize.npy", err)
	}
	// a truncated fat.npy
	path := filepath.Join(dir, "fat.npy")
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadShard(dir, 0); err == nil || !strings.Contains(err.Error(), "fat.npy") || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: error %v, want one naming fat.npy as truncated", err)
	}
	if _, err := LoadShard(filepath.Join(dir, "missing"), 0); err == nil {
		t.Error("missing folder accepted")
	}
}

func TestLoadFlowFile(t *testing.T) {
	dir := t.TempDir()
	good := "2\n0 0 2 3 100 1000 1.000000000\n1 1 2 3 100 2000 1.000001000\n"
	path := filepath.Join(dir, "flow.txt")
	os.WriteFile(path, []byte(good), 0o644)
	p, err := LoadFlowFile(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Len() != 2 || p.ArrivalNs[0] != 1e9 || p.ArrivalNs[1] != 1e9+1000 || p.SizeBytes[1] != 2000 {
		t.Fatalf("loaded %+v", p)
	}
	bad := []struct{ text, want string }{
		{"3\n0 0 2 3 100 1000 1.0\n", "truncated"},
		{"x\n", "flow count"},
		{"1\n0 0 2 3 100 1000\n", "want 7 fields"},
		{"1\n0 0 2 3 100 abc 1.0\n", "size"},
		{"1\n0 0 9 3 100 10 1.0\n", "outside"},
		{"", "empty"},
	}
	for i, c := range bad {
		os.WriteFile(path, []byte(c.text), 0o644)
		_, err := LoadFlowFile(path, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "flow.txt") {
			t.Errorf("case %d: error %v, want it to name flow.txt and say %q", i, err, c.want)
		}
	}
}

func TestGenerateIsDeterministicAndHitsLoad(t *testing.T) {
	spec := GenSpec{Hosts: 3, Flows: 20000, Load: 0.5, MeanBytes: 10000, Seed: 7}
	a, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(spec)
	for i := range a.ArrivalNs {
		if a.ArrivalNs[i] != b.ArrivalNs[i] || a.SizeBytes[i] != b.SizeBytes[i] || a.Src[i] != b.Src[i] {
			t.Fatalf("flow %d differs between two runs with one seed", i)
		}
	}
	// Offered load on link 0 (left to right): flows 0->1 and 0->2.
	bits := 0.0
	for i := range a.SizeBytes {
		if a.Src[i] == 0 {
			bits += (a.SizeBytes[i] + math.Ceil(a.SizeBytes[i]/1000)*48) * 8
		}
	}
	span := a.ArrivalNs[len(a.ArrivalNs)-1] - a.ArrivalNs[0]
	load := bits / span / 10
	if math.Abs(load-0.5) > 0.03 {
		t.Errorf("offered load on link 0 = %.3f, want 0.5 +- 0.03", load)
	}
	if _, err := Generate(GenSpec{Hosts: 3, Flows: 1, Load: 1.5, MeanBytes: 1}); err == nil {
		t.Error("load 1.5 accepted")
	}
}

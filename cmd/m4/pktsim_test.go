package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/pktsim"
)

// --shard writes the reference's fct_*.npy values in fsize.npy order.
func TestPktsimShardMatchesReference(t *testing.T) {
	dir := filepath.Join(reference(t), "ns3-paths", "shard100_nflows300_nhosts7_lr10Gbps")
	out := filepath.Join(t.TempDir(), "fct.npy")
	if _, err := run(t, "pktsim", "--shard", dir, "--out", out); err != nil {
		t.Fatal(err)
	}
	got, err := npyfile.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Float64s()
	fid, _ := npyfile.Read(filepath.Join(dir, "fid_topo-pl-7_s0.npy"))
	fct, _ := npyfile.Read(filepath.Join(dir, "fct_topo-pl-7_s0.npy"))
	ids, _ := fid.Int64s()
	want := fct.Float64s()
	if len(g) != len(ids) {
		t.Fatalf("%d FCTs, want %d", len(g), len(ids))
	}
	for k, id := range ids {
		if g[id] != want[k] {
			t.Fatalf("flow %d: %v ns, ns-3 %v ns", id, g[id], want[k])
		}
	}
}

// The ns-3 file mode on a shard's own config, the fork's topology file and
// the flows written as the m3 generator writes them gives the fork's fct.txt.
func TestPktsimFilesMode(t *testing.T) {
	ref := reference(t)
	dir := filepath.Join(ref, "ns3-paths", "shard104_nflows300_nhosts5_lr10Gbps")
	sh, err := pktsim.LoadShard(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	flows := filepath.Join(tmp, "flows.txt")
	if err := pktsim.WriteFlowFile(flows, sh.Flows); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "fct.txt")
	if _, err := run(t, "pktsim", "--config", sh.ConfigFile, "--topology", filepath.Join(ref, "ns3-topologies", "topo-pl-5.txt"),
		"--flows", flows, "--out", out); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if len(lines) != sh.Flows.Len() {
		t.Fatalf("%d lines, want %d", len(lines), sh.Flows.Len())
	}
	fid, _ := npyfile.Read(filepath.Join(dir, "fid_topo-pl-5_s0.npy"))
	fct, _ := npyfile.Read(filepath.Join(dir, "fct_topo-pl-5_s0.npy"))
	ids, _ := fid.Int64s()
	want, _ := fct.Int64s()
	byID := map[int64]int64{}
	for k, id := range ids {
		byID[id] = want[k]
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 9 {
			t.Fatalf("line %q: want 9 fields", l)
		}
		id, _ := strconv.ParseInt(f[0], 10, 64)
		fctNs, _ := strconv.ParseInt(f[7], 10, 64)
		ideal, _ := strconv.ParseInt(f[8], 10, 64)
		if max(fctNs, ideal) != byID[id] {
			t.Fatalf("flow %d: fct %d (ideal %d), ns-3 %d", id, fctNs, ideal, byID[id])
		}
		if f[3] < "10000" || f[4] != "100" || len(f[1]) != 8 {
			t.Fatalf("line %q: want sport >= 10000, dport 100, hex IPs", l)
		}
	}
}

func TestPktsimBadInput(t *testing.T) {
	for _, args := range [][]string{{"--out", "x.npy"}, {"--topology", "t.txt", "--flows", "f.txt", "--out", "x.npy"}} {
		if _, err := run(t, append([]string{"pktsim"}, args...)...); err == nil || !strings.Contains(err.Error(), "give --shard DIR or --config CONFIG") {
			t.Errorf("%v: %v", args, err)
		}
	}
	tmp := t.TempDir()
	cfg := filepath.Join(tmp, "config.txt")
	os.WriteFile(cfg, []byte("CC_MODE 8\nBOGUS_KEY 1\n"), 0o644)
	topo := filepath.Join(tmp, "topo.txt")
	os.WriteFile(topo, []byte("3 1 2\n2\n0 2 10Gbps 1000ns 0\n1 2 10Gbps 1000ns 0\n"), 0o644)
	flows := filepath.Join(tmp, "flows.txt")
	os.WriteFile(flows, []byte("1\n0 0 2 3 100 1000 1.0\n"), 0o644)
	out := filepath.Join(tmp, "fct.txt")
	_, err := run(t, "pktsim", "--config", cfg, "--topology", topo, "--flows", flows, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "config.txt:2: BOGUS_KEY: unknown key") {
		t.Errorf("unknown key: %v", err)
	}
	os.WriteFile(cfg, []byte("CC_MODE 8\n"), 0o644)
	_, err = run(t, "pktsim", "--config", cfg, "--topology", topo, "--flows", flows, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "flows.txt: flow 1 (id 0): dst 2 is a switch") {
		t.Errorf("flow to a switch: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written despite the error")
	}
}

func TestPktsimValidateCommand(t *testing.T) {
	dir := filepath.Join(reference(t), "m3-shards")
	out, err := run(t, "pktsim", "--validate", dir, "--workers", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| DCQCN | 3 | 7 |", "| HPCC | 3 | 8 |", "| all | all | 30 | 7300 | 100% | 100% | 100% | 100% | 100% | 100% | 100% |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// --config alone reads the topology and flows its config names (beside it)
// and writes the fork's fct.txt byte for byte.
func TestPktsimConfigAlone(t *testing.T) {
	dir := filepath.Join(reference(t), "ns3-fabrics", "fab3")
	out := filepath.Join(t.TempDir(), "fct.txt")
	if _, err := run(t, "pktsim", "--config", filepath.Join(dir, "config.txt"), "--out", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "fct.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the fork's %s", out, filepath.Join(dir, "fct.txt"))
	}
}

// --validate on a folder with a shard and a fork run prints both tables.
func TestPktsimValidateForkRun(t *testing.T) {
	ref := reference(t)
	tmp := t.TempDir()
	abs, err := filepath.Abs(filepath.Join("..", "..", "pipeline", "pktsim", "testdata", "fork-planes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(tmp, "fork-planes")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ref, "m3-shards", "shard0_nflows100_nhosts3_lr10Gbps"), filepath.Join(tmp, "shard0_nflows100_nhosts3_lr10Gbps")); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "pktsim", "--validate", tmp, "--workers", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pktsim vs ns-3: 1 scenarios", "| all | all | 1 |", "pktsim vs ns-3: 1 fork runs",
		"fork-planes | DCTCP | 16 | 400 | 100.00% | 100.00% | 15/15 | - | 0.00% |", "| all | 400 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

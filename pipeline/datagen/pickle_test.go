package datagen

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleStats() *Stats {
	return &Stats{NFlows: 1200, Ratio: 0.1318306005813661, NFlowsForeground: 176, LoadBottleneckTarget: 0.54505599765635,
		HostPairList: [][2]int{{0, 4}, {0, 2}, {2, 3}, {1, 4}}, LoadCandidate: 0.272527998828175,
		SizeDistCandidate: "gaussian", SizeSigmaCandidate: 35183.70881270504, IASSigmaCandidate: 1.8258527551050476}
}

// TestStatsNPYReadsReference reads a stats.npy that numpy wrote (numpy
// scalars inside) and checks the values printed by numpy for it.
func TestStatsNPYReadsReference(t *testing.T) {
	path := filepath.Join(referenceRoot(t), "ns3-paths", "shard100_nflows300_nhosts5_lr10Gbps", "stats.npy")
	got, err := ReadStatsNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleStats(); !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v\nwant %+v", got, want)
	}
}

func TestStatsNPYRoundTrip(t *testing.T) {
	want := sampleStats()
	b := encodeStatsNPY(want)
	got, err := decodeStatsNPY(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip %+v, want %+v", got, want)
	}
	// Truncations and corruptions are errors, never panics.
	for cut := 0; cut < len(b); cut += 7 {
		if _, err := decodeStatsNPY(b[:cut]); err == nil {
			t.Fatalf("stats truncated at %d of %d bytes accepted", cut, len(b))
		}
	}
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] = 'Z'
	if _, err := decodeStatsNPY(bad); err == nil || !strings.Contains(err.Error(), "opcode") {
		t.Errorf("bad opcode: %v", err)
	}
}

// TestStatsNPYLoadsInNumpy checks that numpy itself loads what m4 writes,
// when a python3 with numpy is at hand (Debian's /usr/bin/python3 here).
func TestStatsNPYLoadsInNumpy(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skipf("no python3 with numpy at %s", py)
	}
	path := filepath.Join(t.TempDir(), "stats.npy")
	if err := os.WriteFile(path, encodeStatsNPY(sampleStats()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import sys, json, numpy as np
d = np.load(sys.argv[1], allow_pickle=True).item()
d["host_pair_list"] = [list(p) for p in d["host_pair_list"]]
print(json.dumps(d))`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy cannot load m4's stats.npy: %v\n%s", err, out)
	}
	var got Stats
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := sampleStats(); !reflect.DeepEqual(&got, want) {
		t.Errorf("numpy read %+v, want %+v", got, *want)
	}
}

package datagen

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeSpec(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSpecDefaultsAndFormats(t *testing.T) {
	y, err := LoadSpec(writeSpec(t, "s.yaml", "seed: 7\nshards: {first: 10, count: 4}\nhosts: [5]\ntraffic:\n  load: [0.3, 0.3]\n"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := LoadSpec(writeSpec(t, "s.json", `{"seed": 7, "shards": {"first": 10, "count": 4}, "hosts": [5], "traffic": {"load": [0.3, 0.3]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Errorf("YAML and JSON of one spec differ:\n%+v\n%+v", y, j)
	}
	d := DefaultSpec()
	if y.Seed != 7 || y.Shards != (ShardRange{10, 4}) || y.FlowsPerPair != d.FlowsPerPair || y.Traffic.Load[0] != 0.3 ||
		!reflect.DeepEqual(y.Traffic.IASigma, d.Traffic.IASigma) || !reflect.DeepEqual(y.Config, d.Config) {
		t.Errorf("defaults not filled: %+v", y)
	}
	if y.Scenarios() != 4 || y.Name(y.Item(3)) != "shard13_nflows300_nhosts5_lr10Gbps" {
		t.Errorf("items: %d, %s", y.Scenarios(), y.Name(y.Item(3)))
	}
	empty, err := LoadSpec(writeSpec(t, "e.yaml", ""))
	if err != nil || empty.Scenarios() != 300 {
		t.Errorf("empty spec: %v %v, want m3's defaults (300 scenarios)", empty, err)
	}
	// An empirical CDF from a file, relative to the spec.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ws.txt"), []byte("100 0\n1000 50\n30000 100\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("traffic:\n  size_dists: [websearch]\n  size_cdfs:\n    websearch: {file: ws.txt}\n"), 0o644)
	c, err := LoadSpec(filepath.Join(dir, "s.yaml"))
	if err != nil || len(c.Traffic.SizeCDFs["websearch"].Points) != 3 {
		t.Errorf("CDF file: %v %v", c, err)
	}
}

func TestLoadSpecBadInput(t *testing.T) {
	cases := []struct{ text, field string }{
		{"traffic:\n  size_dists: [uniform]\n", "traffic.size_dists[0]"},
		{"traffic:\n  load: [0.5, 1.5]\n", "traffic.load"},
		{"traffic:\n  bottleneck_load: [0.8, 0.2]\n", "traffic.bottleneck_load"},
		{"traffic:\n  size_dists: [x]\n  size_cdfs:\n    x: {points: []}\n", "traffic.size_cdfs.x"},
		{"traffic:\n  size_dists: [x]\n  size_cdfs:\n    x: {points: [[10, 0], [5, 50], [20, 100]]}\n", "traffic.size_cdfs.x"},
		{"traffic:\n  size_dists: [x]\n  size_cdfs:\n    x: {points: [[10, 0], [20, 90]]}\n", "traffic.size_cdfs.x"},
		{"traffic:\n  size_dists: [x]\n  size_cdfs:\n    x: {file: missing.txt}\n", "traffic.size_cdfs.x"},
		{"traffic:\n  arrival: weibull\n", "traffic.arrival"},
		{"hosts: [4]\n", "hosts[0]"},
		{"hosts: [3, 3]\n", "hosts[1]"},
		{"config:\n  cc: [cubic]\n", "config.cc[0]"},
		{"config:\n  hpcc_u_target: [0.5, 1.2]\n", "config.hpcc_u_target"},
		{"config:\n  pfc: []\n", "config.pfc"},
		{"config:\n  dcqcn_kmin: [20, 80]\n", "config.dcqcn_kmin"},
		{"config:\n  buffer_kb: [300]\n", "config.buffer_kb"},
		{"shards: {first: 3}\n", "shards.count"},
		{"flows_per_pair: -1\n", "flows_per_pair"},
		{"tarffic: {}\n", "tarffic"},
		{"traffic:\n  lod: [0.1, 0.2]\n", "lod"},
		{"seed: [\n", "s.yaml"},
	}
	for i, c := range cases {
		_, err := LoadSpec(writeSpec(t, "s.yaml", c.text))
		if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), "s.yaml") {
			t.Errorf("case %d (%q): error %v, want one naming s.yaml and %s", i, c.text, err, c.field)
		}
	}
	if _, err := LoadSpec(writeSpec(t, "s.json", `{"traffic": {"load": [0.1, 0.2]}, "extra": 1}`)); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Errorf("unknown JSON key: %v", err)
	}
	if _, err := LoadSpec(writeSpec(t, "s.toml", "")); err == nil {
		t.Error(".toml accepted")
	}
}

func TestParseTaskAndEnv(t *testing.T) {
	if tk, err := ParseTask("3/16"); err != nil || tk.Index != 3 || tk.Count != 16 {
		t.Errorf("3/16: %v %v", tk, err)
	}
	for _, bad := range []string{"16/16", "-1/4", "3", "a/b", "1/0"} {
		if _, err := ParseTask(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		env     func(string) string
		count   int
		i, n    int
		wantErr string
	}{
		{env(), 0, 0, 1, ""},
		{env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_COUNT", "10"), 0, 4, 10, ""},
		{env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "10"), 0, 4, 10, ""},
		{env("SLURM_ARRAY_TASK_ID", "4"), 0, 0, 0, "SLURM_ARRAY_TASK_COUNT"},
		{env("SLURM_ARRAY_TASK_ID", "12", "SLURM_ARRAY_TASK_COUNT", "10"), 0, 0, 0, "contiguous"},
		{env("JOB_COMPLETION_INDEX", "2"), 8, 2, 8, ""},
		{env("JOB_COMPLETION_INDEX", "2", "M4_SHARD_COUNT", "5"), 0, 2, 5, ""},
		{env("JOB_COMPLETION_INDEX", "2"), 0, 0, 0, "--shard-count"},
		{env("JOB_COMPLETION_INDEX", "9"), 8, 0, 0, "not one of 8"},
		{env("JOB_COMPLETION_INDEX", "x"), 8, 0, 0, "not an integer"},
	}
	for k, c := range cases {
		tk, err := TaskFromEnv(c.env, c.count)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("case %d: %v, want an error saying %q", k, err, c.wantErr)
			}
			continue
		}
		if err != nil || tk.Index != c.i || tk.Count != c.n {
			t.Errorf("case %d: %v %v, want %d/%d", k, tk, err, c.i, c.n)
		}
	}
}

func TestTaskOwnsPartition(t *testing.T) {
	for _, total := range []int{1, 7, 9, 300} {
		for _, n := range []int{1, 2, 3, 4, 16, 400} {
			counts := make([]int, n)
			for i := 0; i < total; i++ {
				owners := 0
				for k := 0; k < n; k++ {
					if (Task{Index: k, Count: n}).Owns(i, total) {
						owners++
						counts[k]++
					}
				}
				if owners != 1 {
					t.Fatalf("total %d, %d tasks: scenario %d has %d owners", total, n, i, owners)
				}
			}
			lo, hi := total, 0
			for _, c := range counts {
				lo, hi = min(lo, c), max(hi, c)
			}
			if hi-lo > 1 {
				t.Errorf("total %d, %d tasks: shares from %d to %d", total, n, lo, hi)
			}
		}
	}
	// 3 path lengths over 3 tasks: each task gets every length.
	spec := DefaultSpec()
	spec.Shards.Count = 4
	for k := 0; k < 3; k++ {
		hs := map[int]bool{}
		for i := 0; i < spec.Scenarios(); i++ {
			if (Task{Index: k, Count: 3}).Owns(i, spec.Scenarios()) {
				hs[spec.Item(i).Hosts] = true
			}
		}
		if len(hs) != 3 {
			t.Errorf("task %d/3 gets path lengths %v", k, hs)
		}
	}
}

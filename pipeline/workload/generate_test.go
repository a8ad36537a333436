package workload

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

func mustSpec(t *testing.T, text string) *Spec {
	t.Helper()
	s, err := ParseSpec("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustGenerate(t *testing.T, s *Spec) *Workload {
	t.Helper()
	w, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flows.Validate(w.Topo); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestGenerateIsDeterministic(t *testing.T) {
	text := "topology: {kind: fabric, pods: 2, racks_per_pod: 4, hosts_per_rack: 4}\nsizes: {dist: webserver}\n" +
		"traffic: {matrix: uniform}\nmax_load: 0.4\nflows: 3000\nseed: 7\n"
	a := mustGenerate(t, mustSpec(t, text))
	b := mustGenerate(t, mustSpec(t, text))
	if !reflect.DeepEqual(a.Flows, b.Flows) {
		t.Fatal("two runs with one seed differ")
	}
	c := mustGenerate(t, mustSpec(t, strings.Replace(text, "seed: 7", "seed: 8", 1)))
	if reflect.DeepEqual(a.Flows.Size, c.Flows.Size) || reflect.DeepEqual(a.Flows.Src, c.Flows.Src) {
		t.Fatal("seeds 7 and 8 give the same flows")
	}
	if a.Flows.Len() != 3000 || a.Flows.StartNs[0] != StartNs {
		t.Errorf("%d flows, first at %d ns", a.Flows.Len(), a.Flows.StartNs[0])
	}
	// Seeded streams are independent: another size distribution keeps the
	// hosts and arrival times.
	d := mustGenerate(t, mustSpec(t, strings.Replace(text, "webserver", "hadoop", 1)))
	if !reflect.DeepEqual(a.Flows.Src, d.Flows.Src) || !reflect.DeepEqual(a.Flows.Dst, d.Flows.Dst) {
		t.Error("changing the size distribution changed the hosts")
	}
}

// Expected shares of a uniform matrix on a k=4 fat-tree, by hand: 16 hosts,
// 15 destinations each; an edge switch's 2 hosts send 14/15 of their flows
// up, split over 2 aggregation switches; a pod's 4 hosts send 12/15 out of
// the pod, over 2 aggregation switches and 2 cores each.
func TestChannelSharesFatTree(t *testing.T) {
	topo, _ := FatTree(4, 10, 40, 1000)
	rt, _ := NewRouting(topo)
	m, _ := UniformMatrix(topo)
	sh := ChannelShares(rt, m)
	check := func(a, b int32, want float64) {
		t.Helper()
		c := topo.ChannelBetween(a, b)
		if math.Abs(sh[c]-want) > 1e-12 {
			t.Errorf("share %d -> %d = %v, want %v", a, b, sh[c], want)
		}
	}
	check(0, 16, 1.0/16)                     // host 0 up
	check(16, 0, 1.0/16)                     // host 0 down
	check(16, 24, 2.0/16*14.0/15/2)          // edge 16 -> agg 24
	check(24, 32, 4.0/16*12.0/15/2/2)        // agg 24 -> core 32
	check(32, 26, 4.0/16*12.0/15/2/2)        // core 32 -> agg 26 (pod 1), by symmetry
	check(24, 17, 2.0/16*(2.0/15+12.0/15)/2) // agg 24 -> edge 17: from the pod's other edge and from other pods
	total := 0.0
	for _, h := range topo.Hosts() {
		total += sh[topo.ChannelBetween(h, topo.Racks[topo.RackOf(h)].Switch)]
	}
	if math.Abs(total-1) > 1e-12 {
		t.Errorf("host uplink shares sum to %v, want 1", total)
	}
}

// The arrival rate puts the busiest link at the target load. All traffic
// goes from rack 0 to rack 1 of a k=4 fat-tree, so the four host links of
// those racks are the busiest, each with half the flows.
func TestArrivalsHitTargetLoad(t *testing.T) {
	dir := t.TempDir()
	matrix := "0 1 0 0 0 0 0 0\n" + strings.Repeat("0 0 0 0 0 0 0 0\n", 7)
	os.WriteFile(filepath.Join(dir, "m.txt"), []byte(matrix), 0o644)
	cases := []struct {
		arrivals string
		flows    int
	}{
		{"{process: poisson}", 100000},
		{"{process: lognormal, sigma: 1}", 100000},
		{"{process: lognormal, sigma: 2}", 400000},
	}
	for i, c := range cases {
		s := mustSpec(t, "topology: {kind: fattree, k: 4}\nsizes: {dist: exp, sigma: 5000}\n"+
			"traffic: {file: m.txt}\nmax_load: 0.6\narrivals: "+c.arrivals+"\nflows: "+itoa(c.flows)+"\nseed: 3\n")
		s.Dir = dir
		w := mustGenerate(t, s)
		f := &w.Flows
		gap := float64(f.StartNs[f.Len()-1]-f.StartNs[0]) / float64(f.Len()-1)
		if rel := math.Abs(gap-w.MeanGapNs) / w.MeanGapNs; rel > 0.02 {
			t.Errorf("case %d (%s): mean gap %.2f ns, target %.2f (%.1f%% off)", i, c.arrivals, gap, w.MeanGapNs, 100*rel)
		}
		// expected: half the flows at mean 999.5 B on 10 Gbps
		if want := 0.5 * w.Sizes.Mean() * 8 / 10 / 0.6; math.Abs(w.MeanGapNs-want) > 1e-9*want {
			t.Errorf("case %d: MeanGapNs %v, want %v", i, w.MeanGapNs, want)
		}
		sum := w.Summarize()
		if math.Abs(sum.MaxLoad-0.6) > 0.03 {
			t.Errorf("case %d (%s): busiest link load %.4f, want 0.6 +- 0.03", i, c.arrivals, sum.MaxLoad)
		}
		b := sum.Busiest[0]
		if _, _, g := topo4Channel(w, b.Channel); g != 10 || math.Abs(b.Expected-0.6) > 1e-9 {
			t.Errorf("case %d: busiest %+v, want a 10 Gbps host link expected at 0.6", i, b)
		}
		// by flow count at the mean size: the same expectation, without
		// the realized sizes (0.6 up to the arrivals' and draws' noise)
		if math.Abs(b.LoadByCount-0.6) > 0.03 {
			t.Errorf("case %d (%s): busiest link's load by count %.4f, want 0.6 +- 0.03", i, c.arrivals, b.LoadByCount)
		}
		if b.LoadWire <= b.Load {
			t.Errorf("case %d: wire load %v <= payload load %v", i, b.LoadWire, b.Load)
		}
		for _, src := range f.Src {
			if topo := w.Topo; topo.RackOf(src) != 0 {
				t.Fatalf("case %d: a flow from rack %d; the matrix has only rack 0 -> 1", i, topo.RackOf(src))
			}
		}
	}
}

func topo4Channel(w *Workload, c int32) (int32, int32, float64) { return w.Topo.Channel(c) }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestDurationStops(t *testing.T) {
	w := mustGenerate(t, mustSpec(t, "topology: {kind: fattree, k: 4}\nsizes: {dist: googlerpc}\narrivals: {process: poisson}\nmax_load: 0.3\nduration_s: 0.001\n"))
	f := &w.Flows
	if f.StartNs[f.Len()-1] >= StartNs+1_000_000 {
		t.Errorf("last flow at %d ns, after the 1 ms duration", f.StartNs[f.Len()-1])
	}
	want := 1e6 / w.MeanGapNs
	if math.Abs(float64(f.Len())-want) > 5*math.Sqrt(want) {
		t.Errorf("%d flows in 1 ms, want about %.0f", f.Len(), want)
	}
}

func TestMetaMatrices(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	small := fabric(t, 2, 2, 16, 8, 16)
	big := fabric(t, 8, 4, 48, 16, 48)
	cases := []struct {
		name  string
		topo  *Topology
		total float64 // the published matrix's sum
		used  string
	}{
		{"cluster_a", small, 2464613, "cluster_a_2_16"},
		{"cluster_b_2_16", small, 23838771, "cluster_b_2_16"},
		{"cluster_c", small, 1279695, "cluster_c_2_16"},
		{"cluster_b", big, 1694856402, "cluster_b"},
	}
	for i, c := range cases {
		m, err := NamedMatrix(c.name, c.topo, r)
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		if m.Name != c.used || math.Abs(m.Total()-c.total) > 1e-9*c.total {
			t.Errorf("case %d (%s): matrix %s, total %v, want %s, %v", i, c.name, m.Name, m.Total(), c.used, c.total)
		}
		// no traffic between racks of the topology that the matrix leaves empty
		for k := 0; k < 1000; k++ {
			src, dst := m.Sample(c.topo, r)
			if w := m.W[c.topo.RackOf(src)*m.Racks+c.topo.RackOf(dst)]; w == 0 || src == dst {
				t.Fatalf("case %d: drew %d -> %d of weight %v", i, src, dst, w)
			}
		}
	}
	three := fabric(t, 3, 2, 16, 8, 16)
	if _, err := NamedMatrix("cluster_a", three, r); err == nil || !strings.Contains(err.Error(), "3 pods") {
		t.Errorf("cluster_a on 3 pods: %v", err)
	}
	narrow := fabric(t, 8, 4, 40, 16, 40)
	if _, err := NamedMatrix("cluster_b", narrow, r); err == nil || !strings.Contains(err.Error(), "48 racks") {
		t.Errorf("cluster_b on 40-rack pods: %v", err)
	}
}

func TestMatrixFileErrors(t *testing.T) {
	dir := t.TempDir()
	topo, _ := FatTree(4, 10, 40, 1000) // 8 racks
	r := rand.New(rand.NewPCG(1, 1))
	row := "1 1 1 1 1 1 1 1\n"
	cases := []struct{ text, want string }{
		{strings.Repeat(row, 7), "7 rows"},
		{strings.Repeat(row, 7) + "1 1 1\n", "m.txt:8: 3 weights"},
		{strings.Repeat(row, 7) + "1 1 1 1 1 1 1 -2\n", "m.txt:8: weight 8"},
		{strings.Repeat("0 0 0 0 0 0 0 0\n", 8), "no traffic"},
		{`{"matrix": {"inner": [[1]], "idx2name": ["x"]}, "pod2tors": {"p": ["x"]}, "bogus": 1}`, "bogus"},
		{`{"matrix": {"inner": [[1]], "idx2name": ["x"]}, "pod2tors": {"p": ["x"]}}`, "1 pods, the topology 4"},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "m.txt")
		os.WriteFile(path, []byte(c.text), 0o644)
		_, err := LoadMatrix(path, topo, r)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "m.txt") {
			t.Errorf("case %d: error %v, want it to name m.txt and say %q", i, err, c.want)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	base := "topology: {kind: fabric}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 10\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.cdf"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "down.cdf"), []byte("0 0\n100 60\n200 50\n300 100\n"), 0o644)
	cases := []struct{ text, want string }{
		{strings.Replace(base, "webserver", "webservr", 1), `sizes.dist = "webservr": unknown size distribution`},
		{strings.Replace(base, "0.5", "1.5", 1), "max_load = 1.5"},
		{strings.Replace(base, "0.5", "0", 1), "max_load = 0"},
		{strings.Replace(base, "{kind: fabric}", "{kind: fattree, k: 5}", 1), "topology.k = 5: k must be even"},
		{strings.Replace(base, "{kind: fabric}", "{kind: fattree}", 1), "topology.k = 0"},
		{strings.Replace(base, "{kind: fabric}", "{kind: torus}", 1), "topology.kind"},
		{strings.Replace(base, "{kind: fabric}", "{kind: fabric, oversubscription: 3}", 1), "topology.oversubscription = 3: must divide racks_per_pod (16)"},
		{strings.Replace(base, "{kind: fabric}", "{kind: fabric, k: 4}", 1), "topology.k = 4"},
		{base + "bogus: 1\n", `test.yaml:5: unknown key "bogus"`},
		{strings.Replace(base, "{kind: fabric}", "\n  kind: fabric\n  podz: 3", 1), `test.yaml:3: unknown key "topology.podz"`},
		{strings.Replace(base, "flows: 10", "flows: many", 1), "test.yaml:4: flows: cannot unmarshal"},
		{base + "duration_s: 1\n", "give one of them"},
		{strings.Replace(base, "flows: 10\n", "", 1), "give the number of flows or the duration"},
		{strings.Replace(base, "{dist: webserver}", "{dist: lognorm}", 1), "sizes.sigma = 0: lognorm needs a size sigma"},
		{strings.Replace(base, "{dist: webserver}", "{dist: webserver, sigma: 3}", 1), "sizes.dist = webserver: an embedded CDF takes no sigma"},
		{base + "arrivals: {process: poisson, sigma: 2}\n", "arrivals.sigma = 2"},
		{base + "arrivals: {process: pareto}\n", "arrivals.process"},
		{base + "traffic: {matrix: cluster_z}\n", `traffic.matrix = "cluster_z"`},
		{base + "cc: {algorithm: cubic}\n", `cc.algorithm: unknown congestion control "cubic" (want dctcp, dcqcn, hpcc or timely)`},
		{base + "cc: {algorithm: hpcc, hpcc_u_target: 2}\n", "cc.hpcc_u_target = 2"},
		{base + "cc: {dcqcn_kmin: 60}\n", "cc.dcqcn_kmin = 60: above dcqcn_kmax (50)"},
		{"[1, 2]\n", "must be a mapping"},
		{"", "test.yaml: empty spec"},
		{"~\n", "test.yaml: empty spec"},
		{"topology: {kind: fabric\n", "test.yaml: line 1: did not find expected ',' or '}'"},
		{`{"topology": {"kind": "fabric"}, "sizes": {"dist": "hadoop"}, "max_load": 0.5, "flows": 10, "extra": 1}`, `test.yaml:1: unknown key "extra"`},
	}
	for i, c := range cases {
		_, err := ParseSpec("test.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "test.yaml") {
			t.Errorf("case %d: error %v\n want it to name test.yaml and say %q", i, err, c.want)
		}
	}
	// Files named by the spec: errors name the file and what is wrong.
	for i, c := range []struct{ text, want string }{
		{strings.Replace(base, "{dist: webserver}", "{file: empty.cdf}", 1), "empty.cdf: empty CDF"},
		{strings.Replace(base, "{dist: webserver}", "{file: down.cdf}", 1), "down.cdf:3: CDF not strictly increasing"},
		{strings.Replace(base, "{dist: webserver}", "{file: missing.cdf}", 1), "missing.cdf"},
		{base + "traffic: {file: missing.txt}\n", "missing.txt"},
		{strings.Replace(base, "{kind: fabric}", "{kind: file, file: none.txt}", 1), "none.txt"},
	} {
		s := mustSpec(t, c.text)
		s.Dir = dir
		_, err := Generate(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("file case %d: error %v, want %q", i, err, c.want)
		}
	}
}

func TestSpecDefaults(t *testing.T) {
	s := mustSpec(t, "sizes: {dist: hadoop}\nmax_load: 0.5\nflows: 1\n")
	want := TopologySpec{Kind: "fabric", Pods: 2, FabsPerPod: 2, RacksPerPod: 16, HostsPerRack: 8, SpinesPerPlane: 16,
		Oversubscription: 1, HostGbps: 10, FabricGbps: 40, LinkDelayNs: 1000}
	if s.Topology != want {
		t.Errorf("topology defaults %+v, want %+v", s.Topology, want)
	}
	if s.Arrivals.Process != "lognormal" || s.Arrivals.Sigma != 1 || s.Traffic.Matrix != "uniform" || s.CC.Algorithm != "dctcp" {
		t.Errorf("defaults: %+v %+v %+v", s.Arrivals, s.Traffic, s.CC)
	}
	s = mustSpec(t, "topology: {oversubscription: 4}\nsizes: {dist: hadoop}\nmax_load: 0.5\nflows: 1\n")
	if s.Topology.SpinesPerPlane != 4 {
		t.Errorf("4:1 gives %d spines per plane, want 4", s.Topology.SpinesPerPlane)
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w := mustGenerate(t, mustSpec(t, "topology: {kind: fabric, pods: 2, racks_per_pod: 16, hosts_per_rack: 2}\n"+
		"sizes: {dist: websearch}\ntraffic: {matrix: cluster_a_2_16}\nmax_load: 0.5\nflows: 500\nseed: 2\n"))
	sum := w.Summarize()
	if err := w.WriteDir(dir, sum); err != nil {
		t.Fatal(err)
	}
	// the flow file re-reads as the flows
	p, err := scenario.LoadFlowFile(filepath.Join(dir, FileFlows), w.Topo.NumNodes())
	if err != nil {
		t.Fatal(err)
	}
	f := &w.Flows
	for i := range f.Src {
		if p.Src[i] != f.Src[i] || p.Dst[i] != f.Dst[i] || p.SizeBytes[i] != float64(f.Size[i]) || p.ArrivalNs[i] != float64(f.StartNs[i]) {
			t.Fatalf("flow %d re-reads as %v %v %v %v", i, p.Src[i], p.Dst[i], p.SizeBytes[i], p.ArrivalNs[i])
		}
	}
	fat, err := npyfile.Read(filepath.Join(dir, "fat.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fat.Int64s(); !reflect.DeepEqual(got, f.StartNs) {
		t.Error("fat.npy differs from the start times")
	}
	fsd, err := npyfile.Read(filepath.Join(dir, "fsd.npy"))
	if err != nil || !reflect.DeepEqual(fsd.Shape, []int{500, 2}) {
		t.Errorf("fsd.npy: %v %v", err, fsd)
	}
	back, err := ReadNS3(filepath.Join(dir, FileTopologyNS3))
	if err != nil {
		t.Fatal(err)
	}
	sameTopology(t, "topology.txt", w.Topo, back)
	back, err = ReadParsimonJSON(filepath.Join(dir, FileTopologyJSON))
	if err != nil {
		t.Fatal(err)
	}
	sameTopology(t, "topology.json", w.Topo, back)
	npz, err := npyfile.ReadNPZ(filepath.Join(dir, FileTopologyNPZ))
	if err != nil || !reflect.DeepEqual(npz["links"].Shape, []int{len(w.Topo.Links), 2}) {
		t.Errorf("topology.npz: %v", err)
	}
	var got Summary
	b, _ := os.ReadFile(filepath.Join(dir, FileSummary))
	if err := json.Unmarshal(b, &got); err != nil || got.Flows != 500 || got.MaxLoad != sum.MaxLoad || len(got.Busiest) != 10 {
		t.Errorf("summary.json: %v %+v", err, got)
	}
	spec, err := LoadSpec(filepath.Join(dir, FileSpec))
	if err != nil || spec.Seed != 2 || spec.Traffic.Matrix != "cluster_a_2_16" {
		t.Errorf("spec.json does not re-read as the spec: %v %+v", err, spec)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the output: %v", entries)
	}
}

// RackOf returns the rack index of a host, or -1 for a switch.
func (t *Topology) RackOf(node int32) int { return int(t.rackOf[node]) }

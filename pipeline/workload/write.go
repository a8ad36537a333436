package workload

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// Summary describes a generated workload and the load it offers.
type Summary struct {
	Topology       string  `json:"topology"`
	Hosts          int     `json:"hosts"`
	Switches       int     `json:"switches"`
	Links          int     `json:"links"`
	Flows          int     `json:"flows"`
	Seed           uint64  `json:"seed"`
	SizeDist       string  `json:"size_dist"`
	MeanSizeBytes  float64 `json:"mean_size_bytes"`  // of the distribution
	DrawnMeanBytes float64 `json:"drawn_mean_bytes"` // of the flows
	Arrivals       string  `json:"arrivals"`
	Matrix         string  `json:"matrix"`
	MeanGapNs      float64 `json:"mean_interarrival_ns"`
	FirstStartNs   int64   `json:"first_start_ns"`
	LastStartNs    int64   `json:"last_start_ns"`
	TargetMaxLoad  float64 `json:"target_max_load"`
	// Target is the channel the arrival rate was scaled for (the busiest in
	// expectation, at TargetMaxLoad) and the load it was offered. MaxLoad is
	// the highest offered payload load of any channel, MaxLoadWire with
	// packet headers; with few flows or heavy-tailed sizes it exceeds the
	// target by chance. Busiest are the busiest channels, highest first.
	Target      ChannelLoad   `json:"target_channel"`
	MaxLoad     float64       `json:"max_load"`
	MaxLoadWire float64       `json:"max_load_wire"`
	Busiest     []ChannelLoad `json:"busiest"`
	CC          CCSpec        `json:"cc"`

	// Loads has every channel's load (not in summary.json; in link_load.npy).
	Loads []ChannelLoad `json:"-"`
}

// Summarize routes the flows and measures the load they offer.
func (w *Workload) Summarize() *Summary {
	t, f, s := w.Topo, &w.Flows, w.Spec
	sum := &Summary{
		Topology: t.Name, Hosts: len(t.Hosts()), Switches: t.NumNodes() - len(t.Hosts()), Links: len(t.Links),
		Flows: f.Len(), Seed: s.Seed, SizeDist: w.Sizes.Name(), MeanSizeBytes: w.Sizes.Mean(),
		Matrix: w.Matrix.Name, MeanGapNs: w.MeanGapNs, TargetMaxLoad: s.MaxLoad, CC: s.CC,
	}
	sum.Arrivals = s.Arrivals.Process
	if s.Arrivals.Process == "lognormal" {
		sum.Arrivals = fmt.Sprintf("lognormal(sigma=%g)", s.Arrivals.Sigma)
	}
	if n := f.Len(); n > 0 {
		total := 0.0
		for _, b := range f.Size {
			total += float64(b)
		}
		sum.DrawnMeanBytes = total / float64(n)
		sum.FirstStartNs, sum.LastStartNs = f.StartNs[0], f.StartNs[n-1]
	}
	sum.Loads = OfferedLoads(w.Routing, f)
	for c := range sum.Loads {
		l := &sum.Loads[c]
		l.Expected = w.Shares[c] * w.Sizes.Mean() * 8 / w.MeanGapNs / l.Gbps
		sum.MaxLoad = max(sum.MaxLoad, l.Load)
		sum.MaxLoadWire = max(sum.MaxLoadWire, l.LoadWire)
	}
	if w.Busiest >= 0 {
		sum.Target = sum.Loads[w.Busiest]
	}
	order := make([]int, len(sum.Loads))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return sum.Loads[order[i]].Load > sum.Loads[order[j]].Load })
	for _, c := range order[:min(10, len(order))] {
		sum.Busiest = append(sum.Busiest, sum.Loads[c])
	}
	return sum
}

// WriteFlowFile writes flows in the ns-3 flow-file format: the count, then
// "id src dst 3 100 size_bytes start_seconds" per flow, the start with 9
// decimals (whole ns).
func WriteFlowFile(w io.Writer, f *Flows) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintf(bw, "%d\n", f.Len())
	for i := range f.StartNs {
		st := f.StartNs[i]
		fmt.Fprintf(bw, "%d %d %d %d %d %d %d.%09d\n", i, f.Src[i], f.Dst[i], PriorityGroup, FlowDport, f.Size[i], st/1e9, st%1e9)
	}
	return bw.Flush()
}

// Files written by WriteDir.
const (
	FileTopologyNS3  = "topology.txt"
	FileTopologyJSON = "topology.json"
	FileTopologyNPZ  = "topology.npz"
	FileFlows        = "flow.txt"
	FileSummary      = "summary.json"
	FileSpec         = "spec.json"
	FileLinkLoad     = "link_load.npy"
)

// WriteDir writes the workload to dir (created if needed), every file
// atomically: the topology as ns-3 text, Parsimon JSON and arrays
// (topology.npz: links int32 (L, 2), link_gbps float64 (L), link_delay_ns
// int64 (L), is_switch int32 (N)); the flows as an ns-3 flow file and as
// fat.npy (int64 start ns), fsize.npy (int64 bytes), fsd.npy (int32 (n, 2)
// src, dst) like the reference shards; the spec with its defaults filled in
// (spec.json); the per-channel offered payload loads (link_load.npy, float64
// (L, 2): each link's A->B and B->A load); and summary.json. The files are
// written to a temporary folder beside dir first and moved in only when all
// are complete, so a failure leaves dir as it was.
func (w *Workload) WriteDir(dir string, sum *Summary) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := atomicfile.TempDir(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(filepath.Clean(dir))+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		os.RemoveAll(tmp)
		atomicfile.Done(tmp)
	}()
	if err := w.writeFiles(tmp, sum); err != nil {
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (w *Workload) writeFiles(dir string, sum *Summary) error {
	t, f := w.Topo, &w.Flows
	if err := writeFile(filepath.Join(dir, FileTopologyNS3), t.WriteNS3); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, FileTopologyJSON), func(wr io.Writer) error {
		return t.WriteParsimonJSON(wr, w.Fabric)
	}); err != nil {
		return err
	}
	L := len(t.Links)
	ends := make([]int32, 0, 2*L)
	gbps := make([]float64, 0, L)
	delay := make([]int64, 0, L)
	for _, l := range t.Links {
		ends = append(ends, l.A, l.B)
		gbps = append(gbps, l.Gbps)
		delay = append(delay, l.DelayNs)
	}
	isSw := make([]int32, t.NumNodes())
	for v, s := range t.IsSwitch {
		if s {
			isSw[v] = 1
		}
	}
	if err := npyfile.WriteNPZ(filepath.Join(dir, FileTopologyNPZ), []npyfile.Entry{
		{Name: "links", Data: ends, Shape: []int{L, 2}},
		{Name: "link_gbps", Data: gbps},
		{Name: "link_delay_ns", Data: delay},
		{Name: "is_switch", Data: isSw},
	}); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, FileFlows), func(wr io.Writer) error { return WriteFlowFile(wr, f) }); err != nil {
		return err
	}
	n := f.Len()
	sd := make([]int32, 0, 2*n)
	for i := range f.Src {
		sd = append(sd, f.Src[i], f.Dst[i])
	}
	if err := npyfile.Write(filepath.Join(dir, "fat.npy"), f.StartNs, nil); err != nil {
		return err
	}
	if err := npyfile.Write(filepath.Join(dir, "fsize.npy"), f.Size, nil); err != nil {
		return err
	}
	if err := npyfile.Write(filepath.Join(dir, "fsd.npy"), sd, []int{n, 2}); err != nil {
		return err
	}
	loads := make([]float64, len(sum.Loads))
	for c, l := range sum.Loads {
		loads[c] = l.Load
	}
	if err := npyfile.Write(filepath.Join(dir, FileLinkLoad), loads, []int{L, 2}); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, FileSpec), w.Spec); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, FileSummary), sum)
}

func writeJSON(path string, v any) error {
	return writeFile(path, func(wr io.Writer) error {
		enc := json.NewEncoder(wr)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

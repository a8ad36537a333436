package dataset

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/netdata"
	"github.com/m4sim/m4/pipeline/pathfeat"
)

// WorkloadOptions say how training paths are cut from whole-workload
// folders (m4 datagen --from-workload).
type WorkloadOptions struct {
	// Paths is how many paths each workload gives: drawn with
	// replacement in proportion to their flows (what a flow sees);
	// each distinct path drawn is one sample (0: every path).
	Paths int
	// Seed drives the draw (mixed with the workload's own seed).
	Seed uint64
	// CC, when set, keeps only the workloads of that congestion control
	// (a per-algorithm model's data).
	CC cc.CC
}

// IsWorkload tells a workload folder (netdata's wl{W}: workload.json and
// truth.npz) from others.
func IsWorkload(dir string) bool {
	for _, f := range []string{netdata.SummaryFile, netdata.TruthFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// LoadWorkloads reads every workload folder directly under each root (or a
// root that is one) and cuts paths from each as m4 run does: decomposition,
// flowsim and the feature map (package pathfeat, features.V1 parameters
// with the network flag; Reencode changes them), with the target the
// packet-level slowdowns of the path's own flows, summarised as m3
// summarises a shard's (percentiles 1..100 per output bucket by numpy's
// 'nearest', empty buckets 1 and masked). Samples come back in folder and
// path order; Group is the workload (the split never separates its paths).
// Unusable workloads (no truth) are skipped.
func LoadWorkloads(o WorkloadOptions, roots ...string) ([]*Sample, error) {
	var dirs []string
	for _, root := range roots {
		if IsWorkload(root) {
			dirs = append(dirs, root)
			continue
		}
		ents, err := os.ReadDir(root)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		n := len(dirs)
		for _, e := range ents {
			d := filepath.Join(root, e.Name())
			// a dot folder is one datagen is still writing
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && IsWorkload(d) {
				dirs = append(dirs, d)
			}
		}
		if len(dirs) == n {
			return nil, fmt.Errorf("dataset %s: no workload folders (wl*/ with %s and %s)", root, netdata.SummaryFile, netdata.TruthFile)
		}
	}
	sort.Strings(dirs)
	return gather(len(dirs), func(i int) ([]*Sample, error) { return workloadPaths(dirs[i], o) })
}

// workloadPaths cuts the paths of one workload folder.
func workloadPaths(dir string, o WorkloadOptions) ([]*Sample, error) {
	sum, err := netdata.ReadSummary(dir)
	if err != nil {
		return nil, err
	}
	if o.CC != "" && sum.Config.CC != o.CC {
		return nil, nil // another algorithm's: neither its topology nor its truth is read
	}
	wl, err := sum.Read(dir)
	if err != nil {
		return nil, err
	}
	if wl.W == nil {
		return nil, nil
	}
	d, err := decompose.New(wl.W.Routing, &wl.W.Flows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	var paths []int
	if o.Paths > 0 && o.Paths < d.NumPaths() {
		paths, _ = d.Sample(o.Paths, rand.New(rand.NewPCG(o.Seed^wl.Seed, 0x70617468)))
	} else {
		for p := range d.NumPaths() {
			paths = append(paths, p)
		}
	}
	vec := wl.Config.Vector()
	slow := make([]float64, len(wl.FCTNs))
	for i, f := range wl.FCTNs {
		slow[i] = float64(max(f, wl.IdealNs[i])) / float64(wl.IdealNs[i])
	}
	group := filepath.Clean(dir)
	out := make([]*Sample, 0, len(paths))
	for _, p := range paths {
		sc, err := d.Scenario(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		params, err := features.ParamsFor(features.V1, sc.Hosts, true, 0, vec[:])
		if err != nil {
			return nil, fmt.Errorf("%s: path %d: %w", dir, p, err)
		}
		pf, err := pathfeat.Build(sc, params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		s := &Sample{Dir: dir, File: fmt.Sprintf("path%d", p), Group: group, Hosts: sc.Hosts, CC: string(wl.Config.CC),
			Input: pf.Input, Target: make([]float32, features.OutputLen), Mask: make([]float32, features.OutputLen),
			Foreground: len(pf.Foreground), Network: true, Flowsim: make([]float32, features.OutputLen)}
		var per [features.NumOutputBuckets][]float64
		for _, i := range pf.Foreground {
			b := features.OutputBucket(sc.SizeBytes[i])
			per[b] = append(per[b], slow[sc.Flow[i]])
		}
		var pct [features.NumPercentiles]float64
		for b, v := range per {
			row := s.Target[b*features.NumPercentiles : (b+1)*features.NumPercentiles]
			for k := range row {
				row[k] = 1
				s.Flowsim[b*features.NumPercentiles+k] = float32(pf.Flowsim[b][k])
			}
			s.BucketFlows[b] = len(v)
			if len(v) == 0 {
				continue
			}
			slices.Sort(v)
			if err := features.Percentiles(v, &pct); err != nil {
				return nil, err
			}
			for k, x := range pct {
				row[k] = float32(x)
				s.Mask[b*features.NumPercentiles+k] = 1
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Reencode rewrites every sample's parameter blocks in feature definition
// def (features.Reencode), with each sample's network flag.
func Reencode(samples []*Sample, def string) error {
	for _, s := range samples {
		if err := features.Reencode(s.Input.Res, s.Hosts, def, s.Network, s.Foreground); err != nil {
			return fmt.Errorf("%s %s: %w", s.Dir, s.File, err)
		}
	}
	return nil
}

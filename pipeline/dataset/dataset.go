// Package dataset reads path scenarios with packet-level ground truth into
// training examples for m4's model, and splits them into training and
// validation sets.
//
// A shard folder in the reference layout (see ../shared/reference/README.md)
// holds one or more feat_topo-pl-H_sS.npz files, each one example: m3's
// feature map `res` (H rows of 1019), `num_flows_per_cell` (which buckets are
// empty), and the target `res_output` (4 x 100 ns-3 slowdown percentiles of
// the foreground flows) with `num_flows_per_cell_output` (which target cells
// have flows). The values are used exactly as m3's util/dataset.py leaves
// them: no further normalisation; a bucket whose mean flow share is below
// 1e-12 is empty (the model fills it with its learned vector), and a target
// cell counts in the loss when its flow share is > 0 (m3's masked loss).
// A shard without a feat file but with fat/fsize/fsd, param and ground-truth
// files is featurised here (pipeline/features).
//
// Split keeps all path lengths of one traffic draw (shardNNN) on one side, so
// validation never sees a traffic pattern training saw.
package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Sample is one example: a path scenario's model input and its target.
type Sample struct {
	Dir    string // shard folder
	File   string // the feat_*.npz it came from ("" if featurised here)
	Group  string // split key: the dataset folder and the shard's traffic draw
	Hosts  int
	CC     string // congestion control from the parameter vector (a cc.CC; "" if none)
	Input  model.Input
	Target []float32 // OutputLen ns-3 slowdown percentiles
	Mask   []float32 // 1 where the target cell has flows
	// Foreground is how many foreground flows (host 0 to host H-1) the
	// target summarises: thousands on m3's parking lots, one or a few on a
	// path cut from a datacenter workload; 0 when unknown.
	Foreground int
	// BucketFlows counts the foreground flows in each output bucket (paths
	// cut from workloads; zero when unknown, as for shard folders).
	BucketFlows [features.NumOutputBuckets]int
	// Network marks a path cut from a whole workload (LoadWorkloads), as
	// opposed to one of m3's parking lots (a shard folder).
	Network bool
	// Flowsim is flowsim's own answer (OutputLen percentiles) when known
	// at load (workload paths); else FlowsimEstimate computes it.
	Flowsim []float32
}

// Name returns the sample's shard folder name.
func (s *Sample) Name() string { return filepath.Base(s.Dir) }

var (
	featRe  = regexp.MustCompile(`^feat_topo-pl-(\d+)_s(\d+)\.npz$`)
	shardRe = regexp.MustCompile(`^(shard\d+)_`)
)

// Load reads every shard folder directly under each root (or a root that is
// itself a shard folder), in parallel; samples come back sorted by folder
// and file. A malformed file is an error naming it and the field.
func Load(roots ...string) ([]*Sample, error) {
	type job struct{ root, dir string }
	var jobs []job
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("dataset %s: not a directory", root)
		}
		if isShard(root) {
			jobs = append(jobs, job{filepath.Dir(filepath.Clean(root)), root})
			continue
		}
		ents, err := os.ReadDir(root)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		for _, e := range ents {
			d := filepath.Join(root, e.Name())
			if e.IsDir() && isShard(d) {
				jobs = append(jobs, job{root, d})
			}
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("dataset %v: no shard folders (folders with feat_topo-pl-H_sS.npz, or fat.npy with ground truth)", roots)
	}
	out, err := gather(len(jobs), func(i int) ([]*Sample, error) { return loadShard(jobs[i].root, jobs[i].dir) })
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Dir != out[j].Dir {
			return out[i].Dir < out[j].Dir
		}
		return out[i].File < out[j].File
	})
	return out, nil
}

func isShard(dir string) bool {
	if m, _ := filepath.Glob(filepath.Join(dir, "feat_topo-pl-*_s*.npz")); len(m) > 0 {
		return true
	}
	_, err := os.Stat(filepath.Join(dir, "fat.npy"))
	return err == nil
}

func groupOf(root, dir string) string {
	base := filepath.Base(dir)
	if m := shardRe.FindStringSubmatch(base); m != nil {
		base = m[1]
	}
	return filepath.Join(filepath.Clean(root), base)
}

func loadShard(root, dir string) ([]*Sample, error) {
	names, _ := filepath.Glob(filepath.Join(dir, "feat_topo-pl-*_s*.npz"))
	slices.Sort(names)
	var out []*Sample
	for _, path := range names {
		m := featRe.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			continue
		}
		h, _ := strconv.Atoi(m[1])
		s, err := ReadFeat(path, h)
		if err != nil {
			return nil, err
		}
		sample, _ := strconv.Atoi(m[2])
		if s.Foreground, err = countForeground(dir, features.Tag(h, sample), h); err != nil {
			return nil, err
		}
		s.Dir, s.Group = dir, groupOf(root, dir)
		out = append(out, s)
	}
	if len(out) > 0 {
		return out, nil
	}
	// no feature files: build the map from the flows and the ground truth
	mp, err := features.FromShard(dir, 0, 0)
	if err != nil {
		return nil, err
	}
	if mp.Output == nil {
		return nil, fmt.Errorf("dataset %s: no ground truth (fid/fct/fct_i files) to learn from", dir)
	}
	s, err := fromMap(dir+" (featurised)", mp)
	if err != nil {
		return nil, err
	}
	for _, c := range mp.Output.Counts {
		s.Foreground += c
	}
	s.Dir, s.Group = dir, groupOf(root, dir)
	return []*Sample{s}, nil
}

// countForeground counts the flows of a shard's ground truth (fid_TAG.npy)
// that go from host 0 to host hosts-1 (fsd.npy): the flows its target
// summarises. A shard without ground-truth files gives 0.
func countForeground(dir, tag string, hosts int) (int, error) {
	fidPath := filepath.Join(dir, "fid_"+tag+".npy")
	fa, err := npyfile.Read(fidPath)
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	fid, err := fa.Int64s()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", fidPath, err)
	}
	sdPath := filepath.Join(dir, "fsd.npy")
	sa, err := npyfile.Read(sdPath)
	if err != nil {
		return 0, err
	}
	if len(sa.Shape) != 2 || sa.Shape[1] != 2 {
		return 0, fmt.Errorf("%s: shape %v, want (n, 2)", sdPath, sa.Shape)
	}
	sd, err := sa.Int64s()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", sdPath, err)
	}
	n := 0
	for i, id := range fid {
		if id < 0 || 2*id+1 >= int64(len(sd)) {
			return 0, fmt.Errorf("%s: entry %d: flow id %d outside the %d flows of %s", fidPath, i, id, len(sd)/2, sdPath)
		}
		if sd[2*id] == 0 && sd[2*id+1] == int64(hosts-1) {
			n++
		}
	}
	return n, nil
}

// ReadFeat reads one feat_*.npz of a scenario with hosts hosts.
func ReadFeat(path string, hosts int) (*Sample, error) {
	z, err := npyfile.ReadNPZ(path)
	if err != nil {
		return nil, err
	}
	get := func(name string, shape ...int) (*npyfile.Array, error) {
		a, ok := z[name]
		if !ok {
			return nil, fmt.Errorf("%s: no array %s", path, name)
		}
		if !slices.Equal(a.Shape, shape) {
			return nil, fmt.Errorf("%s: %s has shape %v, want %v", path, name, a.Shape, shape)
		}
		return a, nil
	}
	ni, err := get("n_input")
	if err != nil {
		return nil, err
	}
	if v := ni.Float64s(); len(v) != 1 || int(v[0]) != hosts {
		return nil, fmt.Errorf("%s: n_input = %v, but the file name says %d hosts", path, v, hosts)
	}
	res, err := get("res", hosts, features.RowWidth)
	if err != nil {
		return nil, err
	}
	nf, err := get("num_flows_per_cell", hosts, features.CellsPerRow)
	if err != nil {
		return nil, err
	}
	ro, err := get("res_output", features.OutputLen)
	if err != nil {
		return nil, err
	}
	nfo, err := get("num_flows_per_cell_output", features.OutputLen)
	if err != nil {
		return nil, err
	}
	in := &features.Input{Hosts: hosts, Res: toF32(res.Float64s()), NumFlowsPerCell: nf.Float64s()}
	out := &features.Output{ResOutput: toF32(ro.Float64s()), NumFlowsPerCellOutput: toF32(nfo.Float64s())}
	return fromMap(path, &features.Map{Input: in, Output: out})
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// fromMap checks a feature map and makes it a sample; name is for errors.
func fromMap(name string, mp *features.Map) (*Sample, error) {
	in, out := mp.Input, mp.Output
	h := in.Hosts
	for i, v := range in.Res {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v < 0 {
			return nil, fmt.Errorf("%s: res[%d][%d] = %v, want a finite value >= 0", name, i/features.RowWidth, i%features.RowWidth, v)
		}
	}
	for i, v := range in.NumFlowsPerCell {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("%s: num_flows_per_cell[%d][%d] = %v, want a finite value >= 0", name, i/features.CellsPerRow, i%features.CellsPerRow, v)
		}
	}
	s := &Sample{Hosts: h, Input: model.Input{Hosts: h, Res: in.Res},
		Target: out.ResOutput, Mask: make([]float32, features.OutputLen)}
	if name != "" && filepath.Ext(name) == ".npz" {
		s.File = filepath.Base(name)
	}
	any := false
	for i := range s.Target {
		t, w := s.Target[i], out.NumFlowsPerCellOutput[i]
		if math.IsNaN(float64(t)) || math.IsInf(float64(t), 0) || t <= 0 {
			return nil, fmt.Errorf("%s: res_output[%d] = %v, want a finite slowdown > 0", name, i, t)
		}
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) || w < 0 {
			return nil, fmt.Errorf("%s: num_flows_per_cell_output[%d] = %v, want a finite value >= 0", name, i, w)
		}
		if w > 0 {
			s.Mask[i] = 1
			any = true
		}
	}
	if !any {
		return nil, fmt.Errorf("%s: num_flows_per_cell_output is all zero: no foreground flows to learn from", name)
	}
	empty, err := model.EmptyBuckets(in.NumFlowsPerCell, h, features.NumInputBuckets, features.NumPercentiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.Input.Empty = empty
	for k, c := range cc.All() { // the one-hot slots 8..11 of the parameter block
		if in.Res[features.CellsPerRow+8+k] == 1 {
			s.CC = string(c)
		}
	}
	return s, nil
}

// Split puts a fraction valFrac of the traffic draws (Groups), chosen with a
// PCG seeded by seed, in the validation set; the rest train. Both keep the
// input order.
func Split(samples []*Sample, valFrac float64, seed uint64) (train, val []*Sample) {
	var groups []string
	seen := map[string]bool{}
	for _, s := range samples {
		if !seen[s.Group] {
			seen[s.Group] = true
			groups = append(groups, s.Group)
		}
	}
	slices.Sort(groups)
	r := rand.New(rand.NewPCG(seed, 0x6d34737031697421))
	r.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	nval := int(math.Round(valFrac * float64(len(groups))))
	if valFrac > 0 && nval == 0 && len(groups) > 1 {
		nval = 1
	}
	isVal := map[string]bool{}
	for _, g := range groups[:nval] {
		isVal[g] = true
	}
	for _, s := range samples {
		if isVal[s.Group] {
			val = append(val, s)
		} else {
			train = append(train, s)
		}
	}
	return train, val
}

// FlowsimEstimate returns flowsim's own answer to the model's question for a
// shard: the slowdown percentiles 1..100 of its foreground flows per output
// size bucket (ones where a bucket has no flows), from the shard's
// fct_flowsim.npy if present, else from a flowsim run. Slowdowns are m3's
// input-side ones (features.Slowdowns). Its masked loss against the target
// is the baseline the model must beat.
func FlowsimEstimate(dir string, hosts int) ([]float32, error) {
	p, err := scenario.LoadShard(dir, hosts)
	if err != nil {
		return nil, err
	}
	var fct []float64
	path := filepath.Join(dir, "fct_flowsim.npy")
	if a, err := npyfile.Read(path); err == nil {
		if fct = a.Float64s(); len(fct) != p.Len() {
			return nil, fmt.Errorf("%s: %d FCTs for %d flows", path, len(fct), p.Len())
		}
	} else if os.IsNotExist(err) {
		r, err := flowsim.Run(p)
		if err != nil {
			return nil, err
		}
		fct = r.FCTNs
	} else {
		return nil, err
	}
	sl, err := features.Slowdowns(p, fct)
	if err != nil {
		return nil, err
	}
	var cells [features.NumOutputBuckets][]float64
	for i, s := range sl {
		if p.Src[i] == 0 && int(p.Dst[i]) == p.Hosts-1 {
			b := features.OutputBucket(p.SizeBytes[i])
			cells[b] = append(cells[b], s)
		}
	}
	out := make([]float32, features.OutputLen)
	var pct [features.NumPercentiles]float64
	for b, v := range cells {
		if len(v) == 0 {
			for k := 0; k < features.NumPercentiles; k++ {
				out[b*features.NumPercentiles+k] = 1
			}
			continue
		}
		slices.Sort(v)
		if err := features.Percentiles(v, &pct); err != nil {
			return nil, err
		}
		for k, x := range pct {
			out[b*features.NumPercentiles+k] = float32(x)
		}
	}
	return out, nil
}

// Loss is m3's masked relative L1 loss of one scenario's estimate: the mean
// over all cells of mask * |est/target - 1|.
func Loss(est, target, mask []float32) float64 {
	s := 0.0
	for i := range est {
		s += float64(mask[i]) * math.Abs(float64(est[i])/float64(target[i])-1)
	}
	return s / float64(len(est))
}

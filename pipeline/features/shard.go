package features

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Tag is the suffix of a shard's per-configuration files, as in
// fct_topo-pl-5_s0.npy: the parking-lot topology and the sample index.
func Tag(hosts, sample int) string { return fmt.Sprintf("topo-pl-%d_s%d", hosts, sample) }

// Map is the feature map of one scenario: the input, and the target when the
// scenario has packet-level ground truth (nil otherwise).
type Map struct {
	Input  *Input
	Output *Output
}

// WriteNPZ writes m as m3's feat_*.npz, atomically: res float32 (H, 1019),
// num_flows_per_cell float64 (H, 1000), res_output float32 (400),
// num_flows_per_cell_output float32 (400), n_input int64 () = H. Without a
// target (m.Output nil) the two output arrays are left out, so that a loader
// expecting a training example fails loudly instead of training on filler.
func (m *Map) WriteNPZ(path string) error {
	h := m.Input.Hosts
	entries := []npyfile.Entry{
		{Name: "res", Data: m.Input.Res, Shape: []int{h, RowWidth}},
		{Name: "num_flows_per_cell", Data: m.Input.NumFlowsPerCell, Shape: []int{h, CellsPerRow}},
	}
	if m.Output != nil {
		entries = append(entries,
			npyfile.Entry{Name: "res_output", Data: m.Output.ResOutput, Shape: []int{OutputLen}},
			npyfile.Entry{Name: "num_flows_per_cell_output", Data: m.Output.NumFlowsPerCellOutput, Shape: []int{OutputLen}})
	}
	entries = append(entries, npyfile.Entry{Name: "n_input", Data: []int64{int64(h)}, Shape: []int{}})
	return npyfile.WriteNPZ(path, entries)
}

// Truth is a shard's packet-level ground truth, in the simulator's order
// (flows sorted by start time): FID[i] is the index into the shard's flow
// arrays of the flow with FCT[i] and ideal FCT Ideal[i], ns.
type Truth struct {
	FID        []int64
	FCT, Ideal []float64
}

// ReadTruth reads fid_TAG.npy, fct_TAG.npy and fct_i_TAG.npy from dir, for a
// shard of n flows. It returns nil and no error when none of the three exist
// (a scenario to estimate rather than to learn from), and an error naming the
// file when only some do or one is malformed.
func ReadTruth(dir, tag string, n int) (*Truth, error) {
	names := []string{"fid_" + tag + ".npy", "fct_" + tag + ".npy", "fct_i_" + tag + ".npy"}
	var have, missing []string
	for _, nm := range names {
		if _, err := os.Stat(filepath.Join(dir, nm)); err == nil {
			have = append(have, nm)
		} else if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, nm)
		} else {
			return nil, err
		}
	}
	if len(have) == 0 {
		return nil, nil
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: has %v but not %v: the ground truth needs all three", dir, have, missing)
	}
	var arr [3][]int64
	for k, nm := range names {
		path := filepath.Join(dir, nm)
		a, err := npyfile.Read(path)
		if err != nil {
			return nil, err
		}
		if len(a.Shape) != 1 {
			return nil, fmt.Errorf("%s: shape %v, want (n,)", path, a.Shape)
		}
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		arr[k] = v
	}
	if len(arr[1]) != len(arr[0]) || len(arr[2]) != len(arr[0]) {
		return nil, fmt.Errorf("%s: mismatched lengths: %s has %d values, %s %d, %s %d",
			dir, names[0], len(arr[0]), names[1], len(arr[1]), names[2], len(arr[2]))
	}
	if len(arr[0]) > n {
		return nil, fmt.Errorf("%s: %d values for a shard of %d flows", filepath.Join(dir, names[0]), len(arr[0]), n)
	}
	t := &Truth{FID: arr[0], FCT: make([]float64, len(arr[0])), Ideal: make([]float64, len(arr[0]))}
	seen := make([]bool, n)
	for i, id := range arr[0] {
		if id < 0 || id >= int64(n) {
			return nil, fmt.Errorf("%s: entry %d: flow id %d outside the shard's %d flows", filepath.Join(dir, names[0]), i, id, n)
		}
		if seen[id] {
			return nil, fmt.Errorf("%s: entry %d: flow id %d appears twice", filepath.Join(dir, names[0]), i, id)
		}
		seen[id] = true
		if arr[1][i] <= 0 {
			return nil, fmt.Errorf("%s: entry %d (flow %d): FCT %d ns, want > 0", filepath.Join(dir, names[1]), i, id, arr[1][i])
		}
		if arr[2][i] <= 0 {
			return nil, fmt.Errorf("%s: entry %d (flow %d): ideal FCT %d ns, want > 0", filepath.Join(dir, names[2]), i, id, arr[2][i])
		}
		t.FCT[i] = float64(arr[1][i])
		t.Ideal[i] = float64(arr[2][i])
	}
	return t, nil
}

// Output builds the target of p from its ground truth.
func (t *Truth) Output(p *scenario.Path) (*Output, error) {
	n := len(t.FID)
	size := make([]float64, n)
	src := make([]int32, n)
	dst := make([]int32, n)
	for i, id := range t.FID {
		size[i], src[i], dst[i] = p.SizeBytes[id], p.Src[id], p.Dst[id]
	}
	return BuildOutput(p.Hosts, size, src, dst, t.FCT, t.Ideal)
}

// ReadParams reads a shard's configuration vector, param_TAG.npy (what m3's
// loader reads), and returns the 19 model parameters (ParamVector).
func ReadParams(dir, tag string, hosts int) ([NumParams]float64, error) {
	path := filepath.Join(dir, "param_"+tag+".npy")
	a, err := npyfile.Read(path)
	if err != nil {
		return [NumParams]float64{}, err
	}
	if len(a.Shape) != 1 || a.Shape[0] != 15 {
		return [NumParams]float64{}, fmt.Errorf("%s: shape %v, want (15,)", path, a.Shape)
	}
	p, err := ParamVector(hosts, a.Float64s())
	if err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// FromShard builds the feature map of a reference-layout shard folder: flows
// from fat/fsize/fsd.npy (hosts as for scenario.LoadShard), flowsim run here,
// parameters from param_TAG.npy and, when present, the target from
// fid/fct/fct_i_TAG.npy, with TAG = Tag(hosts, sample).
func FromShard(dir string, hosts, sample int) (*Map, error) {
	p, err := scenario.LoadShard(dir, hosts)
	if err != nil {
		return nil, err
	}
	tag := Tag(p.Hosts, sample)
	params, err := ReadParams(dir, tag, p.Hosts)
	if err != nil {
		return nil, err
	}
	truth, err := ReadTruth(dir, tag, p.Len())
	if err != nil {
		return nil, err
	}
	res, err := flowsim.Run(p)
	if err != nil {
		return nil, err
	}
	return Build(p, res.FCTNs, params, truth)
}

// Build builds the feature map of p from its flowsim FCTs, parameters and
// ground truth (nil for none).
func Build(p *scenario.Path, fctNs []float64, params [NumParams]float64, truth *Truth) (*Map, error) {
	in, err := BuildInput(p, fctNs, params)
	if err != nil {
		return nil, err
	}
	m := &Map{Input: in}
	if truth != nil {
		if m.Output, err = truth.Output(p); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return m, nil
}

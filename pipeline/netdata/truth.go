package netdata

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/workload"
)

// WriteTruth writes a workload's flows and each flow's packet-level FCT and
// ideal FCT as an .npz: src, dst (int32 node ids), size (payload bytes),
// start_ns, fct_ns, ideal_ns (int64), one entry per flow in flow order.
func WriteTruth(path string, f *workload.Flows, fctNs, idealNs []int64) error {
	n := f.Len()
	if len(fctNs) != n || len(idealNs) != n {
		return fmt.Errorf("%s: %d FCTs and %d ideal FCTs for %d flows", path, len(fctNs), len(idealNs), n)
	}
	return npyfile.WriteNPZ(path, []npyfile.Entry{
		{Name: "src", Data: f.Src, Shape: []int{n}},
		{Name: "dst", Data: f.Dst, Shape: []int{n}},
		{Name: "size", Data: f.Size, Shape: []int{n}},
		{Name: "start_ns", Data: f.StartNs, Shape: []int{n}},
		{Name: "fct_ns", Data: fctNs, Shape: []int{n}},
		{Name: "ideal_ns", Data: idealNs, Shape: []int{n}},
	})
}

// Workload is a finished workload folder read back: its summary, the
// workload (topology rebuilt from the spec, flows from the truth file) and
// every flow's packet-level FCT and ideal FCT. W is nil for an unusable
// workload (Summary.Unusable says why).
type Workload struct {
	Summary
	W              *workload.Workload
	FCTNs, IdealNs []int64
}

// ReadWorkload reads workload folder dir (DIR/wl{W} of a run). Errors name
// the file and field.
func ReadWorkload(dir string) (*Workload, error) {
	s, err := ReadSummary(dir)
	if err != nil {
		return nil, err
	}
	return s.Read(dir)
}

// ReadSummary reads and checks workload folder dir's summary alone: its
// spec and configuration, without the topology or the truth, enough to
// choose workloads before reading them (Summary.Read reads the rest).
func ReadSummary(dir string) (*Summary, error) {
	sp := filepath.Join(dir, SummaryFile)
	b, err := os.ReadFile(sp)
	if err != nil {
		return nil, err
	}
	out := &Summary{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("%s: %w", sp, err)
	}
	if out.Unusable != "" {
		return out, nil
	}
	if out.Spec == nil {
		return nil, fmt.Errorf("%s: spec: missing", sp)
	}
	if err := out.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: config: %w", sp, err)
	}
	out.Spec.File = sp
	if err := out.Spec.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// Read reads the rest of workload folder dir, whose summary s is
// (ReadSummary): the workload and every flow's truth; W is nil when s is
// unusable.
func (s *Summary) Read(dir string) (*Workload, error) {
	out := &Workload{Summary: *s}
	if out.Unusable != "" {
		return out, nil
	}
	sp := filepath.Join(dir, SummaryFile)
	t, fabric, err := workload.BuildTopology(out.Spec)
	if err != nil {
		return nil, err
	}
	rt, err := workload.NewRouting(t)
	if err != nil {
		return nil, fmt.Errorf("%s: topology: %w", sp, err)
	}
	tp := filepath.Join(dir, TruthFile)
	arr, err := npyfile.ReadNPZ(tp)
	if err != nil {
		return nil, err
	}
	col := func(name string) ([]int64, error) {
		a, ok := arr[name]
		if !ok {
			return nil, fmt.Errorf("%s: %s: missing", tp, name)
		}
		if len(a.Shape) != 1 || a.Shape[0] != out.Flows {
			return nil, fmt.Errorf("%s: %s: shape %v, want (%d,)", tp, name, a.Shape, out.Flows)
		}
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", tp, name, err)
		}
		return v, nil
	}
	var c [6][]int64
	for i, name := range []string{"src", "dst", "size", "start_ns", "fct_ns", "ideal_ns"} {
		if c[i], err = col(name); err != nil {
			return nil, err
		}
	}
	w := &workload.Workload{Spec: out.Spec, Topo: t, Fabric: fabric, Routing: rt, Busiest: -1}
	f := &w.Flows
	f.Src, f.Dst = make([]int32, out.Flows), make([]int32, out.Flows)
	for i := range out.Flows {
		f.Src[i], f.Dst[i] = int32(c[0][i]), int32(c[1][i])
		if int64(f.Src[i]) != c[0][i] || int64(f.Dst[i]) != c[1][i] {
			return nil, fmt.Errorf("%s: flow %d: src/dst %d/%d out of range", tp, i, c[0][i], c[1][i])
		}
	}
	f.Size, f.StartNs = c[2], c[3]
	if err := f.Validate(t); err != nil {
		return nil, fmt.Errorf("%s: %w", tp, err)
	}
	for i := range out.Flows {
		if c[4][i] < 0 || c[5][i] <= 0 {
			return nil, fmt.Errorf("%s: flow %d: fct_ns %d, ideal_ns %d", tp, i, c[4][i], c[5][i])
		}
	}
	out.W, out.FCTNs, out.IdealNs = w, c[4], c[5]
	return out, nil
}

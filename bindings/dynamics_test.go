//go:build cgo

package bindings

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoFlows is a hand-made trace: two flows share link 0, the second also
// crosses link 1; remaining bytes fall with time, and link 0 holds 3000 B
// while both are active.
func twoFlows() *DynTrace {
	return &DynTrace{
		DynWorkload: DynWorkload{
			FlowSize:     []int64{100000, 50000},
			FlowStartNs:  []int64{0, 10000},
			FlowIdealNs:  []int64{82000, 42000},
			FlowRoutePtr: []int64{0, 1, 3},
			FlowRoute:    []int32{0, 0, 1},
			LinkGbps:     []float64{10, 40},
			LinkDelayNs:  []int64{1000, 1000},
		},
		FlowFCTNs:         []int64{122000, 80000},
		EvTimeNs:          []int64{0, 10000, 90000, 122000},
		EvKind:            []int8{0, 0, 1, 1},
		EvFlow:            []int32{0, 1, 1, 0},
		EvActivePtr:       []int64{0, 1, 3, 4, 4},
		EvActiveFlow:      []int32{0, 0, 1, 0},
		EvActiveRemaining: []float32{100000, 88000, 50000, 39000},
		EvQueuePtr:        []int64{0, 0, 1, 1, 1},
		EvQueueLink:       []int32{0},
		EvQueueBytes:      []float32{3000},
	}
}

func smallDyn() DynConfig {
	c := DefaultDynConfig()
	c.Hidden, c.GNNWidth, c.MLPHidden = 12, 16, 12
	return c
}

// TestDynTrains: the loss of a tiny trace falls under AdamW, the gradients
// are finite and non-zero, and Run estimates each flow at or above its
// ideal FCT (the model's slowdown is >= 1).
func TestDynTrains(t *testing.T) {
	d, err := NewDyn(smallDyn(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Init(3); err != nil {
		t.Fatal(err)
	}
	tr := twoFlows()
	var first, last DynLoss
	for step := 1; step <= 150; step++ {
		l, err := d.Forward(tr, 0, len(tr.EvTimeNs))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := d.AdamW(3e-3, 0.9, 0.999, 1e-8, 0, step); err != nil {
			t.Fatal(err)
		}
		if step == 1 {
			first = l
			g := d.Grads()
			nz := 0
			for _, v := range g {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite gradient")
				}
				if v != 0 {
					nz++
				}
			}
			if nz < len(g)/2 {
				t.Errorf("only %d of %d gradients non-zero", nz, len(g))
			}
		}
		last = l
	}
	if first.NSlowdown != 2 || first.NRemain != 4 || first.NQueue != 4 {
		t.Errorf("samples %d/%d/%d, want 2/4/4", first.NSlowdown, first.NRemain, first.NQueue)
	}
	if !(last.Total < 0.3*first.Total) {
		t.Errorf("loss %.4f -> %.4f, want a fall below 30%%", first.Total, last.Total)
	}
	fct, err := d.Run(&tr.DynWorkload)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fct {
		if !(f >= float64(tr.FlowIdealNs[i])) || math.IsInf(f, 0) {
			t.Errorf("flow %d: fct %g, ideal %d", i, f, tr.FlowIdealNs[i])
		}
	}
}

// TestDynWindowsAndState: windows continue the state (their slowdown sums
// equal the whole trace's), AdamW state round-trips, and the parameters
// are laid out as the tensors say.
func TestDynWindowsAndState(t *testing.T) {
	d, err := NewDyn(smallDyn(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tr := twoFlows()
	all, err := d.Forward(tr, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Forward(tr, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Forward(tr, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if s := a.Slowdown*float64(a.NSlowdown) + b.Slowdown*float64(b.NSlowdown); math.Abs(s-all.Slowdown*float64(all.NSlowdown)) > 1e-6 {
		t.Errorf("windowed slowdown sum %g, whole %g", s, all.Slowdown*float64(all.NSlowdown))
	}
	if _, err := d.Forward(tr, 3, 4); err == nil || !strings.Contains(err.Error(), "does not continue") {
		t.Errorf("a gap: %v", err)
	}
	n := 0
	for _, ti := range d.Tensors() {
		if ti.Offset != n {
			t.Fatalf("%s at %d, want %d", ti.Name, ti.Offset, n)
		}
		n += ti.Size
	}
	if n != d.NumParams() {
		t.Errorf("tensors cover %d of %d parameters", n, d.NumParams())
	}
	m1, m2 := make([]float32, n), make([]float32, n)
	m1[5], m2[7] = 0.25, 0.5
	if err := d.SetAdam(m1, m2); err != nil {
		t.Fatal(err)
	}
	g1, g2, _ := d.Adam()
	if g1[5] != 0.25 || g2[7] != 0.5 {
		t.Errorf("AdamW state did not round-trip")
	}
}

// TestDynRejects: bad input is an error naming the field.
func TestDynRejects(t *testing.T) {
	d, err := NewDyn(smallDyn(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cases := []struct {
		name string
		edit func(*DynTrace)
		want string
	}{
		{"route ptr", func(t *DynTrace) { t.FlowRoutePtr[2] = 4 }, "flow_route_ptr[2]"},
		{"link id", func(t *DynTrace) { t.FlowRoute[1] = 9 }, "flow_route[1]"},
		{"kind", func(t *DynTrace) { t.EvKind[0] = 1 }, "ev_kind[0]"},
		{"active ptr", func(t *DynTrace) { t.EvActivePtr[2] = 9 }, "ev_active_ptr"},
		{"size", func(t *DynTrace) { t.FlowSize[1] = 0 }, "flow_size[1]"},
		{"fct arrays", func(t *DynTrace) { t.FlowFCTNs = t.FlowFCTNs[:1] }, "FCTs"},
	}
	for i, c := range cases {
		tr := twoFlows()
		c.edit(tr)
		_, err := d.Forward(tr, 0, len(tr.EvTimeNs))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d (%s): %v, want an error naming %s", i, c.name, err, c.want)
		}
	}
	if _, err := NewDyn(DynConfig{}, false); err == nil {
		t.Errorf("a zero config is accepted")
	}
}

// TestLoadDyn: the fixture the Go encoder wrote (native/tests/fixtures)
// loads by path and from bytes, with its moments for training and without
// them for inference; a missing file is an IO error; Validate's ranges are
// the native library's.
func TestLoadDyn(t *testing.T) {
	path := filepath.Join("..", "native", "tests", "fixtures", "dyn_small.safetensors")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := DynConfig{Hidden: 4, GNNWidth: 3, GNNLayers: 2, MLPHidden: 2, LNEps: 1e-5, WRemain: 0.25, WQueue: 0.5,
		QueueNormBytes: 1000, NParams: 2}
	for i, c := range []struct {
		training, bytes bool
	}{{false, false}, {true, false}, {true, true}} {
		var d *Dyn
		var info DynCheckpointInfo
		if c.bytes {
			d, info, err = LoadDynBytes("fixture", b, c.training)
		} else {
			d, info, err = LoadDyn(path, c.training)
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if info.Config != want || d.Config() != want || !info.OptimizerState || !strings.Contains(string(info.Training), `"step":3`) {
			t.Errorf("case %d: %+v", i, info)
		}
		m1, _, err := d.Adam()
		if c.training && (err != nil || m1[5] != 5.0/1024) || !c.training && err == nil {
			t.Errorf("case %d: moments: %v", i, err)
		}
		d.Close()
	}
	_, _, err = LoadDyn(filepath.Join(t.TempDir(), "none.safetensors"), false)
	var ce *CheckpointError
	if !errors.As(err, &ce) || !ce.IO {
		t.Errorf("missing file: %v", err)
	}
	bad := want
	bad.GNNLayers = 9
	if err := bad.Validate(); err == nil || err.Error() != "dynamics config: gnn_layers = 9, want 1..8" {
		t.Errorf("Validate: %v", err)
	}
}

// TestDefaultDynConfig: the defaults come from libm4 and are the paper's
// sizes (netiken/m4's config/train_config.yaml), accepted by the checker.
func TestDefaultDynConfig(t *testing.T) {
	c := DefaultDynConfig()
	want := DynConfig{Hidden: 200, GNNWidth: 300, GNNLayers: 3, MLPHidden: 200, LNEps: 1e-5,
		WRemain: 0.1, WQueue: 0.1, QueueNormBytes: 100000}
	if c != want {
		t.Errorf("DefaultDynConfig() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

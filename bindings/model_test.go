//go:build cgo

package bindings

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// m4fx reads a fixture written by native/tests/fixtures/gen_model_fixtures.py.
func m4fx(t *testing.T, name string) map[string]any {
	t.Helper()
	path := filepath.Join("..", "native", "tests", "fixtures", name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	var hdr struct {
		Magic          [4]byte
		Version, Count int32
	}
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil || string(hdr.Magic[:]) != "M4FX" || hdr.Version != 1 {
		t.Fatalf("%s: not an m4fx v1 file", path)
	}
	out := map[string]any{}
	for i := 0; i < int(hdr.Count); i++ {
		var n int32
		binary.Read(r, binary.LittleEndian, &n)
		nm := make([]byte, n)
		r.Read(nm)
		var dt, nd int32
		binary.Read(r, binary.LittleEndian, &dt)
		binary.Read(r, binary.LittleEndian, &nd)
		shape := make([]int32, nd)
		binary.Read(r, binary.LittleEndian, shape)
		cnt := 1
		for _, s := range shape {
			cnt *= int(s)
		}
		if dt == 0 {
			v := make([]float32, cnt)
			if err := binary.Read(r, binary.LittleEndian, v); err != nil {
				t.Fatalf("%s: %s: %v", path, nm, err)
			}
			out[string(nm)] = v
		} else {
			v := make([]int32, cnt)
			if err := binary.Read(r, binary.LittleEndian, v); err != nil {
				t.Fatalf("%s: %s: %v", path, nm, err)
			}
			out[string(nm)] = v
		}
	}
	return out
}

func fxConfig(fx map[string]any) ModelConfig {
	ci, cf := fx["config_int"].([]int32), fx["config_float"].([]float32)
	return ModelConfig{FeatDim: int(ci[0]), BucketsIn: int(ci[1]), Pct: int(ci[2]), Dim: int(ci[3]),
		Layers: int(ci[4]), Heads: int(ci[5]), Hidden: int(ci[6]), MaxSeq: int(ci[7]),
		MLPHidden1: int(ci[8]), MLPHidden2: int(ci[9]), OutDim: int(ci[10]),
		NormEps: cf[0], RopeTheta: cf[1], Dropout: 0}
}

func maxRelDiff(got, want []float32, floor float64) (float64, int) {
	worst, at := 0.0, -1
	for i := range got {
		d := math.Abs(float64(got[i])-float64(want[i])) / math.Max(math.Abs(float64(want[i])), floor)
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	return worst, at
}

// TestModelMatchesPyTorch runs the reduced model of model_small.m4fx through
// the Go API: forward, loss and three AdamW steps against PyTorch.
func TestModelMatchesPyTorch(t *testing.T) {
	fx := m4fx(t, "model_small.m4fx")
	cfg := fxConfig(fx)
	nRows := fx["n_rows"].([]int32)
	m, err := NewModel(cfg, len(nRows), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.SetParams(fx["params"].([]float32)); err != nil {
		t.Fatal(err)
	}
	empty := make([]uint8, len(fx["empty"].([]int32)))
	for i, v := range fx["empty"].([]int32) {
		empty[i] = uint8(v)
	}
	feat, target, mask := fx["feat"].([]float32), fx["target"].([]float32), fx["mask"].([]float32)
	out := make([]float32, len(nRows)*cfg.OutDim)
	if err := m.Forward(nRows, feat, empty, false, 0, out); err != nil {
		t.Fatal(err)
	}
	if d, i := maxRelDiff(out, fx["est"].([]float32), 1); d > 1e-5 {
		t.Errorf("estimate %d: %g, PyTorch %g (rel %.2g)", i, out[i], fx["est"].([]float32)[i], d)
	}
	hp := fx["adamw"].([]float32)
	for s := 1; s <= 3; s++ {
		if err := m.Forward(nRows, feat, empty, true, uint64(s), out); err != nil {
			t.Fatal(err)
		}
		l, err := m.Backward(target, mask)
		if err != nil {
			t.Fatal(err)
		}
		if want := fx["step_losses"].([]float32)[s-1]; math.Abs(float64(l-want)) > 1e-5*float64(want) {
			t.Errorf("step %d: loss %.8g, PyTorch %.8g", s, l, want)
		}
		if err := m.AdamW(hp[0], hp[1], hp[2], hp[3], hp[4], s); err != nil {
			t.Fatal(err)
		}
	}
	if d, i := maxRelDiff(m.Params(), fx["params_after"].([]float32), 0.02); d > 1e-4 {
		t.Errorf("parameter %d after 3 steps: rel diff %.2g from PyTorch", i, d)
	}
}

// TestModelDeterministic: same seed, same result; threads change nothing.
func TestModelDeterministic(t *testing.T) {
	cfg := ModelConfig{FeatDim: 10*8 + 3, BucketsIn: 10, Pct: 8, Dim: 32, Layers: 2, Heads: 4,
		Hidden: 48, MaxSeq: 6, MLPHidden1: 24, MLPHidden2: 16, OutDim: 32, NormEps: 1e-5, RopeTheta: 1e4, Dropout: 0.2}
	nRows := []int32{3, 7, 2, 5}
	rows := 17
	feat := make([]float32, rows*cfg.FeatDim)
	for i := range feat {
		feat[i] = 1 + float32(i%97)/50
	}
	target := make([]float32, len(nRows)*cfg.OutDim)
	mask := make([]float32, len(target))
	for i := range target {
		target[i], mask[i] = 1+float32(i%13)/3, float32(i%4/3)
	}
	run := func(threads int) ([]float32, []float32) {
		m, err := NewModel(cfg, 4, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.SetThreads(threads); err != nil {
			t.Fatal(err)
		}
		if err := m.Init(7); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(target))
		for s := 1; s <= 3; s++ {
			if err := m.Forward(nRows, feat, nil, true, uint64(100+s), out); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Backward(target, mask); err != nil {
				t.Fatal(err)
			}
			if err := m.AdamW(1e-3, 0.9, 0.95, 1e-8, 0.02, s); err != nil {
				t.Fatal(err)
			}
		}
		return m.Params(), out
	}
	p1, o1 := run(1)
	p2, o2 := run(1)
	p3, o3 := run(3)
	for i := range p1 {
		if p1[i] != p2[i] || p1[i] != p3[i] {
			t.Fatalf("parameter %d: %g, %g (same seed), %g (3 threads)", i, p1[i], p2[i], p3[i])
		}
	}
	for i := range o1 {
		if o1[i] != o2[i] || o1[i] != o3[i] {
			t.Fatalf("output %d differs across runs", i)
		}
	}
}

// A replica answers as its base, bit for bit, from the base's weights in
// place; while it lives neither sets new weights, and afterwards the base can.
func TestModelReplica(t *testing.T) {
	cfg := ModelConfig{FeatDim: 10*8 + 3, BucketsIn: 10, Pct: 8, Dim: 32, Layers: 2, Heads: 4,
		Hidden: 48, MaxSeq: 6, MLPHidden1: 24, MLPHidden2: 16, OutDim: 32, NormEps: 1e-5, RopeTheta: 1e4}
	nRows := []int32{3, 7, 2}
	feat := make([]float32, 12*cfg.FeatDim)
	for i := range feat {
		feat[i] = 1 + float32(i%89)/40
	}
	base, err := NewModel(cfg, 4, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	p := make([]float32, base.NumParams())
	for i := range p {
		p[i] = float32(i%31-15) / 200
	}
	if err := base.SetParams(p); err != nil {
		t.Fatal(err)
	}
	rep, err := base.NewReplica(3)
	if err != nil {
		t.Fatal(err)
	}
	want, got := make([]float32, 3*cfg.OutDim), make([]float32, 3*cfg.OutDim)
	if err := base.Forward(nRows, feat, nil, false, 0, want); err != nil {
		t.Fatal(err)
	}
	if err := rep.Forward(nRows, feat, nil, false, 0, got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(want, got) {
		t.Fatalf("replica %v, base %v", got[:4], want[:4])
	}
	if err := base.SetParams(p); err == nil || !strings.Contains(err.Error(), "replicas read these weights") {
		t.Errorf("base took new weights under a replica: %v", err)
	}
	if err := rep.SetParams(p); err == nil {
		t.Error("replica took new weights")
	}
	rep.Close()
	if err := base.SetParams(p); err != nil {
		t.Errorf("base refused new weights after its replica closed: %v", err)
	}
}

// DefaultModelConfig is m3's model and Validate is m4_model_config_check:
// a bad value in any Go field comes back naming that field in m4.h.
func TestModelConfigFromC(t *testing.T) {
	d := DefaultModelConfig()
	want := ModelConfig{FeatDim: 1019, BucketsIn: 10, Pct: 100, Dim: 576, Layers: 4, Heads: 4, Hidden: 1536,
		MaxSeq: 16, MLPHidden1: 512, MLPHidden2: 512, OutDim: 400, NormEps: 1e-5, RopeTheta: 10000, Dropout: 0.2}
	if d != want {
		t.Errorf("DefaultModelConfig() = %+v, want m3's %+v", d, want)
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	for i, c := range []struct {
		set  func(*ModelConfig)
		want string
	}{
		{func(c *ModelConfig) { c.FeatDim = 0 }, "feat_dim = 0, want 1..1048576"},
		{func(c *ModelConfig) { c.BucketsIn = -1 }, "n_buckets_in = -1, want 0..1048576"},
		{func(c *ModelConfig) { c.Pct = 0 }, "n_pct = 0"},
		{func(c *ModelConfig) { c.Dim = -2 }, "dim = -2"},
		{func(c *ModelConfig) { c.Layers = 2000 }, "n_layers = 2000, want 0..1024"},
		{func(c *ModelConfig) { c.Heads = 0 }, "n_heads = 0"},
		{func(c *ModelConfig) { c.Hidden = 0 }, "hidden_dim = 0"},
		{func(c *ModelConfig) { c.MaxSeq = 5000 }, "max_seq = 5000, want 1..4096"},
		{func(c *ModelConfig) { c.MLPHidden1 = 0 }, "mlp_hidden1 = 0"},
		{func(c *ModelConfig) { c.MLPHidden2 = 0 }, "mlp_hidden2 = 0"},
		{func(c *ModelConfig) { c.OutDim = 0 }, "out_dim = 0"},
		{func(c *ModelConfig) { c.Heads = 5 }, "dim 576 / n_heads 5 must be an even integer"},
		{func(c *ModelConfig) { c.NormEps = 0 }, "norm_eps = 0, want in (0, 1]"},
		{func(c *ModelConfig) { c.RopeTheta = -1 }, "rope_theta = -1"},
		{func(c *ModelConfig) { c.Dropout = 1 }, "dropout = 1, want in [0, 1)"},
	} {
		b := d
		c.set(&b)
		if err := b.Validate(); err == nil || !strings.HasPrefix(err.Error(), "model config: "+c.want) {
			t.Errorf("%d: %v, want %q", i, err, c.want)
		}
	}
}

func TestModelRejectsBadInput(t *testing.T) {
	cfg := DefaultModelConfig()
	cfg.Dim, cfg.Hidden, cfg.Layers, cfg.MLPHidden1, cfg.MLPHidden2 = 16, 16, 1, 8, 8
	m, err := NewModel(cfg, 2, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	feat := make([]float32, 5*cfg.FeatDim)
	for i := range feat {
		feat[i] = 1
	}
	out := make([]float32, 2*cfg.OutDim)
	cases := []struct {
		name  string
		rows  []int32
		edit  func([]float32)
		empty []uint8
		want  string
	}{
		{"NaN feature", []int32{3, 2}, func(f []float32) { f[4*cfg.FeatDim+7] = float32(math.NaN()) }, nil, "scenario 1: feature row 1, column 7 is NaN"},
		{"Inf feature", []int32{3, 2}, func(f []float32) { f[cfg.FeatDim] = float32(math.Inf(1)) }, nil, "scenario 0: feature row 1, column 0 is Inf"},
		{"one row", []int32{4, 1}, nil, nil, "scenario 1: 1 feature rows"},
		{"too many rows for max_seq", []int32{18, 2}, nil, nil, "rows"},
		{"short empty flags", []int32{3, 2}, nil, make([]uint8, 3), "empty flags"},
		{"too many scenarios", []int32{2, 2, 1}, nil, nil, "output of"},
	}
	for i, c := range cases {
		f := append([]float32(nil), feat...)
		if c.edit != nil {
			c.edit(f)
		}
		rows := 0
		for _, r := range c.rows {
			rows += int(r)
		}
		if rows*cfg.FeatDim > len(f) {
			f = make([]float32, rows*cfg.FeatDim)
		} else {
			f = f[:rows*cfg.FeatDim]
		}
		err := m.Forward(c.rows, f, c.empty, false, 0, out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d (%s): err = %v, want it to contain %q", i, c.name, err, c.want)
		}
	}
	p := m.Params()
	p[len(p)-1] = float32(math.NaN())
	if err := m.SetParams(p); err == nil || !strings.Contains(err.Error(), "const_tensor: element 99 is NaN") {
		t.Errorf("NaN parameter: %v", err)
	}
	if _, err := m.Backward(make([]float32, 400), make([]float32, 400)); err == nil {
		t.Error("backward on an inference model accepted")
	}
	bad := cfg
	bad.Heads = 5
	if _, err := NewModel(bad, 1, 0, false); err == nil {
		t.Error("dim 16 with 5 heads accepted")
	}
}

// TestModelM3Size checks m3's full-size configuration: 18,134,836 parameters
// named as in m3's state dict.
func TestModelM3Size(t *testing.T) {
	m, err := NewModel(DefaultModelConfig(), 1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.NumParams() != 18134836 {
		t.Errorf("%d parameters, want 18134836", m.NumParams())
	}
	ts := m.Tensors()
	first, last := ts[0], ts[len(ts)-1]
	if first.Name != "model_transformer.tok_embeddings.weight" || fmt.Sprint(first.Shape) != "[576 1019]" || !first.Decay {
		t.Errorf("first tensor %+v", first)
	}
	if last.Name != "const_tensor" || last.Size != 100 || last.Decay {
		t.Errorf("last tensor %+v", last)
	}
}

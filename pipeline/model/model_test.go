package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/npyfile"
)

func smallConfig() bindings.ModelConfig {
	return bindings.ModelConfig{FeatDim: 10*4 + 3, BucketsIn: 10, Pct: 4, Dim: 8, Layers: 2, Heads: 2,
		Hidden: 12, MaxSeq: 6, MLPHidden1: 6, MLPHidden2: 5, OutDim: 16, NormEps: 1e-5, RopeTheta: 1e4, Dropout: 0.2}
}

// testCheckpoint returns a checkpoint with distinct, f16-exact values.
func testCheckpoint(withOptim bool) *Checkpoint {
	cfg := smallConfig()
	n, err := NumParams(cfg)
	if err != nil {
		panic(err)
	}
	ck := &Checkpoint{Config: cfg, Params: make([]float32, n), Features: M3Features(),
		Training: &TrainInfo{Seed: 3, Batch: 20, LR: 1e-4, Epochs: 2, Steps: 40, BestValLoss: 0.1,
			History: []EpochStat{{1, 0.3, 0.2, 1.5}, {2, 0.2, 0.1, 1.4}}}}
	for i := range ck.Params {
		ck.Params[i] = float32(i%512-256) / 64
	}
	if withOptim {
		ck.Optim = &OptimState{ExpAvg: make([]float32, n), ExpAvgSq: make([]float32, n), EMA: make([]float32, n)}
		for i := range ck.Params {
			ck.Optim.ExpAvg[i] = float32(math.Sin(float64(i)))
			ck.Optim.ExpAvgSq[i] = float32(i) * 1e-7
			ck.Optim.EMA[i] = float32(math.Cos(float64(i)))
		}
	}
	return ck
}

// The layout libm4 defines, against m3's: the tensors tile the parameter
// array in PyTorch's state-dict order, with the shapes and sizes m3's model
// has (counted by hand here), decay on the transformer's 2-D weights, and a
// block's nine parts in m3's .bin order.
func TestTensors(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	for i, c := range []bindings.ModelConfig{smallConfig(), bindings.DefaultModelConfig()} {
		ts, err := Tensors(c)
		if err != nil {
			t.Fatal(err)
		}
		want := c.Dim*c.FeatDim + c.Dim + c.Layers*(2*c.Dim+4*c.Dim*c.Dim+3*c.Hidden*c.Dim) + c.Dim + c.Dim*c.Dim +
			(c.FeatDim+c.Dim)*c.MLPHidden1 + c.MLPHidden1 + c.MLPHidden1*c.MLPHidden2 + c.MLPHidden2 +
			c.MLPHidden2*c.OutDim + c.OutDim + c.Pct
		np, err := NumParams(c)
		if err != nil || np != want || len(ts) != 2+9*c.Layers+2+6+1 {
			t.Fatalf("config %d: %d params (%v), %d tensors; want %d params, %d tensors", i, np, err, len(ts), want, 2+9*c.Layers+2+6+1)
		}
		off := 0
		for _, x := range ts {
			n := 1
			for _, d := range x.Shape {
				n *= d
			}
			decay := len(x.Shape) == 2 && strings.HasPrefix(x.Name, "model_transformer.")
			if x.Offset != off || x.Size != n || x.Decay != decay {
				t.Fatalf("config %d: %+v at %d (want offset %d, size %d, decay %v)", i, x, x.Offset, off, n, decay)
			}
			off += n
		}
		if off != want || ts[0].Name != "model_transformer.tok_embeddings.weight" || fmt.Sprint(ts[0].Shape) != fmt.Sprint([]int{c.Dim, c.FeatDim}) ||
			ts[len(ts)-1].Name != "const_tensor" || ts[len(ts)-3].Name != "model_mlp.4.weight" {
			t.Errorf("config %d: first %+v, last %+v", i, ts[0], ts[len(ts)-1])
		}
		parts := strings.Join(layerParts(ts), " ")
		if parts != "attention_norm.weight attention.wq.weight attention.wk.weight attention.wv.weight attention.wo.weight "+
			"ffn_norm.weight feed_forward.w1.weight feed_forward.w2.weight feed_forward.w3.weight" {
			t.Errorf("config %d: block parts %s", i, parts)
		}
	}
	if _, err := Tensors(bindings.ModelConfig{}); err == nil {
		t.Error("a zero config has a layout")
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library (libm4 reads checkpoints)")
	}
	dir := t.TempDir()
	for i, c := range []struct {
		dtype Dtype
		optim bool
	}{{F32, false}, {F32, true}, {F16, false}, {F16, true}} {
		ck := testCheckpoint(c.optim)
		path := filepath.Join(dir, fmt.Sprintf("ck%d.safetensors", i))
		if err := Save(path, ck, c.dtype); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got.Config != ck.Config {
			t.Errorf("case %d: config %+v, want %+v", i, got.Config, ck.Config)
		}
		// every test value is exact in float16
		for j := range ck.Params {
			if got.Params[j] != ck.Params[j] {
				t.Fatalf("case %d: param %d = %g, want %g", i, j, got.Params[j], ck.Params[j])
			}
		}
		if (got.Optim != nil) != c.optim {
			t.Fatalf("case %d: optimizer state present = %v", i, got.Optim != nil)
		}
		if c.optim {
			for j := range ck.Optim.ExpAvg {
				if got.Optim.ExpAvg[j] != ck.Optim.ExpAvg[j] || got.Optim.ExpAvgSq[j] != ck.Optim.ExpAvgSq[j] || got.Optim.EMA[j] != ck.Optim.EMA[j] {
					t.Fatalf("case %d: optimizer state %d differs", i, j)
				}
			}
		}
		gj, _ := json.Marshal(got.Training)
		wj, _ := json.Marshal(ck.Training)
		if string(gj) != string(wj) || fmt.Sprint(got.Features) != fmt.Sprint(ck.Features) {
			t.Errorf("case %d: metadata differs:\n%s\n%s", i, gj, wj)
		}
	}
}

// corrupt returns a copy of a valid checkpoint image with its JSON header
// replaced by edit(header).
func withHeader(t *testing.T, img []byte, edit func(map[string]any)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(img)
	var h map[string]any
	if err := json.Unmarshal(img[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hj, _ := json.Marshal(h)
	out := make([]byte, 8)
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	return append(append(out, hj...), img[8+n:]...)
}

func TestCheckpointRejects(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library (libm4 reads checkpoints)")
	}
	img, err := Encode(testCheckpoint(true), F32)
	if err != nil {
		t.Fatal(err)
	}
	first := "model_transformer.tok_embeddings.weight"
	meta := func(k, v string) func(map[string]any) {
		return func(h map[string]any) { h["__metadata__"].(map[string]any)[k] = v }
	}
	entry := func(name, field string, v any) func(map[string]any) {
		return func(h map[string]any) { h[name].(map[string]any)[field] = v }
	}
	// nanAt puts a NaN into the data with a checksum that matches (a writer
	// that wrote one): the values themselves are checked too
	nanAt := func(b []byte) []byte {
		n := binary.LittleEndian.Uint64(b)
		c := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(c[8+n+4*5:], math.Float32bits(float32(math.NaN())))
		return resum(t, c)
	}
	flipped := append([]byte(nil), img...)
	flipped[len(flipped)-100] ^= 0x10
	cases := []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"truncated data", img[:len(img)-10], "truncated: tensors need"},
		{"truncated header", img[:100], "header length"},
		{"trailing bytes", append(append([]byte(nil), img...), 0, 0, 0, 0), "bytes after the last tensor"},
		{"unknown version", withHeader(t, img, meta("format_version", "2")), "unknown version"},
		{"not m4", withHeader(t, img, meta("format", "pytorch")), "not an m4 checkpoint"},
		{"unknown metadata", withHeader(t, img, meta("colour", "red")), `unknown key "colour"`},
		{"bad config", withHeader(t, img, meta("model_config", `{"dim": 8}`)), "metadata model_config: feat_dim missing"},
		{"unknown config field", withHeader(t, img, meta("model_config", strings.Replace(mustMeta(t, img, "model_config"), "{", `{"vocab":3,`, 1))), "unknown field"},
		{"wrong shape", withHeader(t, img, entry(first, "shape", []int{8, 42})), "tensor " + first + ": shape [8 42], want [8 43]"},
		{"bad dtype", withHeader(t, img, entry(first, "dtype", "BF16")), "dtype \"BF16\""},
		{"f16 optimizer", withHeader(t, img, entry(prefixExpAvg+first, "dtype", "F16")), "not allowed here"},
		{"unknown tensor", withHeader(t, img, func(h map[string]any) {
			// an empty tensor at the end: the tensors still tile the data
			end := len(img) - 8 - int(binary.LittleEndian.Uint64(img))
			h["extra"] = map[string]any{"dtype": "F32", "shape": []int{0}, "data_offsets": []int{end, end}}
		}), "tensor extra: unknown"},
		{"overlap", withHeader(t, img, entry(first, "data_offsets", []int{0, 8})), "gap or overlap"},
		{"NaN", nanAt(img), "tensor " + first + ": element 5 is NaN"},
		{"flipped bit", flipped, "metadata data_sha256: the tensor data hash to"},
		{"bad checksum", withHeader(t, img, meta(MetaChecksum, "abc")), `metadata data_sha256: "abc" is not 64 lowercase hex digits`},
	}
	for i, c := range cases {
		_, err := Decode("x.safetensors", c.img)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.safetensors: ") {
			t.Errorf("case %d (%s): err = %v, want %q", i, c.name, err, c.want)
		}
	}
	// Load names the file too
	path := filepath.Join(t.TempDir(), "cut.safetensors")
	os.WriteFile(path, img[:len(img)/2], 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: %v", err)
	}
	if err := Save(filepath.Join(t.TempDir(), "big.safetensors"), func() *Checkpoint {
		ck := testCheckpoint(false)
		ck.Params[7] = 1e6
		return ck
	}(), F16); err == nil || !strings.Contains(err.Error(), "does not fit float16") {
		t.Errorf("f16 overflow: %v", err)
	}
}

func mustMeta(t *testing.T, img []byte, key string) string {
	n := binary.LittleEndian.Uint64(img)
	var h map[string]json.RawMessage
	json.Unmarshal(img[8:8+n], &h)
	var m map[string]string
	json.Unmarshal(h["__metadata__"], &m)
	return m[key]
}

// f16ToF32 widens a float16 exactly: the reference TestFloat16 checks
// f32ToF16 against (libm4 widens a checkpoint's F16 values).
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		if mant == 0 {
			return math.Float32frombits(sign | 0x7f800000)
		}
		return float32(math.NaN())
	case exp == 0:
		v := float32(mant) / 1024 / 16384 // mant * 2^-24
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

func TestFloat16(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {0.5, 0x3800},
		{1 + 1.0/1024, 0x3c01},           // exact
		{1 + 1.0/2048, 0x3c00},           // tie to even (down)
		{1 + 3.0/2048, 0x3c02},           // tie to even (up)
		{5.960464477539063e-08, 0x0001},  // smallest subnormal
		{6.103515625e-05, 0x0400},        // smallest normal
		{3.0 * 5.960464477539063e-08, 3}, // subnormal
		{2.0 * 1e-9, 0},                  // underflow to zero
		{65519, 0x7bff},                  // rounds down to max
	}
	for i, c := range cases {
		h, ok := f32ToF16(c.in)
		if !ok || h != c.want {
			t.Errorf("case %d: f16(%g) = %#04x (ok %v), want %#04x", i, c.in, h, ok, c.want)
		}
		if back := f16ToF32(c.want); c.in != 0 && math.Abs(float64(back-c.in)) > math.Abs(float64(c.in))*1e-3+1e-7 {
			t.Errorf("case %d: back to %g", i, back)
		}
	}
	for _, v := range []float32{65520, 1e6, float32(math.Inf(1)), float32(math.NaN())} {
		if _, ok := f32ToF16(v); ok {
			t.Errorf("f16(%g) accepted", v)
		}
	}
	// every float16 round-trips
	for h := uint16(0); h < 0x7c00; h++ {
		for _, s := range []uint16{0, 0x8000} {
			back, ok := f32ToF16(f16ToF32(h | s))
			if !ok || back != h|s {
				t.Fatalf("%#04x -> %g -> %#04x", h|s, f16ToF32(h|s), back)
			}
		}
	}
}

// TestImportM3MatchesRunC: m3's C checkpoint format loads, and m4's kernels
// compute what m3's run.c computes on it (testdata/m3compat/README.md).
func TestImportM3MatchesRunC(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library (libm4 owns the parameter layout)")
	}
	dir := filepath.Join("testdata", "m3compat")
	ck, err := ImportM3(filepath.Join(dir, "m3_small_llama.bin"), filepath.Join(dir, "m3_small_mlp.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Config.Dim != 16 || ck.Config.Layers != 2 || ck.Config.FeatDim != 1019 || ck.Config.OutDim != 400 || ck.Features.Name != "m3-path-v1" {
		t.Fatalf("imported %+v %s", ck.Config, ck.Features.Name)
	}
	// export reproduces both files byte for byte
	tmp := t.TempDir()
	if err := ExportM3(ck, filepath.Join(tmp, "l.bin"), filepath.Join(tmp, "m.bin")); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"m3_small_llama.bin", "l.bin"}, {"m3_small_mlp.bin", "m.bin"}} {
		a, _ := os.ReadFile(filepath.Join(dir, p[0]))
		b, _ := os.ReadFile(filepath.Join(tmp, p[1]))
		if string(a) != string(b) {
			t.Errorf("ExportM3 does not reproduce %s", p[0])
		}
	}
	if !bindings.Native {
		t.Skip("inference needs the native library")
	}
	res, err := npyfile.Read(filepath.Join(dir, "input_res.npy"))
	if err != nil {
		t.Fatal(err)
	}
	ea, err := npyfile.Read(filepath.Join(dir, "input_empty.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := npyfile.Read(filepath.Join(dir, "run_c_estimate.npy"))
	if err != nil {
		t.Fatal(err)
	}
	empty := make([]uint8, ea.Len())
	for i, v := range ea.Float64s() {
		empty[i] = uint8(v)
	}
	est, err := NewEstimator(ck, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	out, err := est.Raw([]Input{{Hosts: 7, Res: res.Data.([]float32), Empty: empty}})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, w := range want.Float64s() {
		d := math.Abs(float64(out[0][i])-w) / math.Max(math.Abs(w), 1)
		if d > worst {
			worst = d
		}
		if d > 1e-5 {
			t.Fatalf("estimate %d: m4 %.7g, m3's run.c %.7g", i, out[0][i], w)
		}
	}
	t.Logf("largest relative difference from run.c: %.2g", worst)
	// a context that matters: without the link rows the estimate changes
	if out2, _ := est.Raw([]Input{{Hosts: 2, Res: res.Data.([]float32)[:2*1019], Empty: empty[:20]}}); out2[0][0] == out[0][0] {
		t.Error("the transformer rows do not change the estimate")
	}
}

func TestImportM3Rejects(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library (libm4 owns the parameter layout)")
	}
	dir := filepath.Join("testdata", "m3compat")
	lb, _ := os.ReadFile(filepath.Join(dir, "m3_small_llama.bin"))
	mb, _ := os.ReadFile(filepath.Join(dir, "m3_small_mlp.bin"))
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	shared := append([]byte(nil), lb...)
	binary.LittleEndian.PutUint32(shared[20:], 1019) // positive vocab: shared classifier
	nan := append([]byte(nil), mb...)
	binary.LittleEndian.PutUint32(nan[len(nan)-4:], math.Float32bits(float32(math.NaN())))
	badIn := append([]byte(nil), mb...)
	binary.LittleEndian.PutUint32(badIn[0:], 1000)
	cases := []struct {
		name, llama, mlp, want string
	}{
		{"truncated llama", write("a.bin", lb[:len(lb)-8]), write("b.bin", mb), "a.bin: truncated"},
		{"long llama", write("c.bin", append(append([]byte(nil), lb...), 1, 2, 3, 4)), write("d.bin", mb), "4 bytes after the output projection"},
		{"shared classifier", write("e.bin", shared), write("f.bin", mb), "shared classifier"},
		{"NaN in mlp", write("g.bin", lb), write("h.bin", nan), "tensor const_tensor: element 99 is NaN"},
		{"input_dim", write("i.bin", lb), write("j.bin", badIn), "input_dim = 1000"},
		{"no header", write("k.bin", lb[:10]), write("l.bin", mb), "no 7 x int32 header"},
	}
	for i, c := range cases {
		_, err := ImportM3(c.llama, c.mlp)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d (%s): err = %v, want %q", i, c.name, err, c.want)
		}
	}
}

// TestReloadIdentical: a saved and reloaded F32 checkpoint predicts
// bit-identically.
func TestReloadIdentical(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	ck := testCheckpoint(false)
	fillSine(ck.Params, 1, 0.3)
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, ck, F32); err != nil {
		t.Fatal(err)
	}
	ck2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in := []Input{{Hosts: 4, Res: make([]float32, 4*ck.Config.FeatDim)}, {Hosts: 2, Res: make([]float32, 2*ck.Config.FeatDim)}}
	for _, x := range in {
		for i := range x.Res {
			x.Res[i] = 1 + float32(i%7)
		}
	}
	var outs [2][][]float32
	for k, c := range []*Checkpoint{ck, ck2} {
		e, err := NewEstimator(c, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if outs[k], err = e.Predict(in); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	for s := range in {
		for j := range outs[0][s] {
			if outs[0][s][j] != outs[1][s][j] {
				t.Fatalf("scenario %d output %d: %g before, %g after reload", s, j, outs[0][s][j], outs[1][s][j])
			}
		}
	}
}

// TestFoldInputNorm: a model with input normalisation and its folded twin
// (no normalisation, as m3 exports need) predict the same, empty buckets
// included; and the fold survives export to m3's format and back.
func TestFoldInputNorm(t *testing.T) {
	if !bindings.Native {
		t.Skip("needs the native library")
	}
	ck := testCheckpoint(false)
	c := ck.Config
	fillSine(ck.Params, 1.3, 0.4)
	rows := [][]float32{make([]float32, 3*c.FeatDim), make([]float32, 5*c.FeatDim)}
	empty := [][]uint8{make([]uint8, 3*c.BucketsIn), make([]uint8, 5*c.BucketsIn)}
	for k := range rows {
		for i := range rows[k] {
			rows[k][i] = 1 + float32((i*7+k)%13)*0.7
		}
		for i := range empty[k] {
			empty[k][i] = uint8(i % 3 / 2)
		}
	}
	ck.InputNorm = ComputeInputNorm(c.FeatDim, c.BucketsIn, c.Pct, rows, empty)
	if ck.InputNorm.Scale[0] == 1 || ck.InputNorm.Shift[c.FeatDim-1] == 0 {
		t.Fatalf("normalisation left columns alone: %v %v", ck.InputNorm.Scale[:3], ck.InputNorm.Shift[c.FeatDim-3:])
	}
	folded, err := FoldInputNorm(ck)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := ExportM3(ck, filepath.Join(tmp, "l.bin"), filepath.Join(tmp, "m.bin")); err != nil {
		t.Fatal(err)
	}
	back, err := ImportM3(filepath.Join(tmp, "l.bin"), filepath.Join(tmp, "m.bin"))
	if err != nil {
		t.Fatal(err)
	}
	back.Config.Dropout = c.Dropout
	in := []Input{{Hosts: 3, Res: rows[0], Empty: empty[0]}, {Hosts: 5, Res: rows[1], Empty: empty[1]}}
	var outs [3][][]float32
	for k, x := range []*Checkpoint{ck, folded, back} {
		e, err := NewEstimator(x, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		outs[k], err = e.Predict(in)
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := 1; k < 3; k++ {
		for s := range in {
			if d, i := maxRel(outs[k][s], outs[0][s]); d > 2e-5 {
				t.Errorf("variant %d scenario %d output %d: %g, normalised model %g", k, s, i, outs[k][s][i], outs[0][s][i])
			}
		}
	}
	// a normalised checkpoint round-trips through its file
	path := filepath.Join(tmp, "n.safetensors")
	if err := Save(path, ck, F32); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil || got.InputNorm == nil || got.InputNorm.Scale[5] != ck.InputNorm.Scale[5] {
		t.Fatalf("reload: %v", err)
	}
	// a map that differs between buckets cannot fold
	ck.InputNorm.Scale[c.Pct+1] *= 2
	if _, err := FoldInputNorm(ck); err == nil || !strings.Contains(err.Error(), "percentile index") {
		t.Errorf("unfoldable map: %v", err)
	}
}

func maxRel(got, want []float32) (float64, int) {
	worst, at := 0.0, 0
	for i := range got {
		d := math.Abs(float64(got[i]-want[i])) / math.Max(math.Abs(float64(want[i])), 1)
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

// resum returns img with its data_sha256 recomputed for its data (the
// digest has a fixed length, so the header keeps its size).
func resum(t *testing.T, img []byte) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(img)
	old := mustMeta(t, img, MetaChecksum)
	sum := sha256.Sum256(img[8+n:])
	out := bytes.Replace(img[:8+n], []byte(old), []byte(hex.EncodeToString(sum[:])), 1)
	return append(out, img[8+n:]...)
}

// fillSine sets p[i] = amp sin(freq i): deterministic weights of both signs
// for tests that compare two forms of one model.
func fillSine(p []float32, freq, amp float64) {
	for i := range p {
		p[i] = float32(amp * math.Sin(freq*float64(i)))
	}
}

//go:build cgo

package bindings_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/scenario"
)

// m3Small is a small model over m3's feature maps (1019-value rows, 400
// outputs), so that the C reader accepts it for estimating.
func m3Small() bindings.ModelConfig {
	c := bindings.DefaultModelConfig()
	c.Dim, c.Layers, c.Heads, c.Hidden, c.MaxSeq, c.MLPHidden1, c.MLPHidden2 = 8, 2, 2, 12, 6, 6, 5
	return c
}

// smallCheckpoint returns a checkpoint of m3Small with distinct, F16-exact
// parameters (scaled so that every part of the network matters).
func smallCheckpoint(optim, ema, norm bool) *model.Checkpoint {
	cfg := m3Small()
	n, err := model.NumParams(cfg)
	if err != nil {
		panic(err)
	}
	ck := &model.Checkpoint{Config: cfg, Params: make([]float32, n), Features: model.M3Features(),
		Training: &model.TrainInfo{Seed: 3, Batch: 20, LR: 1e-4, Epochs: 2, Steps: 40}}
	for i := range ck.Params {
		ck.Params[i] = float32(i%509-254) / 512
	}
	if optim {
		ck.Optim = &model.OptimState{ExpAvg: make([]float32, n), ExpAvgSq: make([]float32, n)}
		for i := range ck.Params {
			ck.Optim.ExpAvg[i] = float32(math.Sin(float64(i)))
			ck.Optim.ExpAvgSq[i] = float32(i) * 1e-7
		}
		if ema {
			ck.Optim.EMA = append([]float32(nil), ck.Params...)
		}
	}
	if norm {
		ck.InputNorm = &model.InputNorm{Shift: make([]float32, cfg.FeatDim), Scale: make([]float32, cfg.FeatDim)}
		for j := range ck.InputNorm.Shift {
			ck.InputNorm.Shift[j] = float32(j%100) / 50
			ck.InputNorm.Scale[j] = 0.5 + float32(j%3)
		}
	}
	return ck
}

// TestLoadModelMatchesGo reads files written by Go's checkpoint writer with
// the C reader: parameters bit for bit, the same info, and the same model
// outputs as the Go loader + Estimator.
func TestLoadModelMatchesGo(t *testing.T) {
	cases := []struct {
		dtype            model.Dtype
		optim, ema, norm bool
	}{
		{model.F32, false, false, false}, {model.F16, false, false, false}, {model.F32, true, false, false},
		{model.F32, true, true, true}, {model.F16, true, true, false}, {model.F32, false, false, true},
	}
	dir := t.TempDir()
	for i, c := range cases {
		ck := smallCheckpoint(c.optim, c.ema, c.norm)
		path := filepath.Join(dir, "ck.safetensors")
		if err := model.Save(path, ck, c.dtype); err != nil {
			t.Fatal(err)
		}
		m, info, err := bindings.LoadModel(path, 2)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		want := bindings.CheckpointInfo{Config: ck.Config, Features: "m3-path-v1", M3Features: true,
			F16: c.dtype == model.F16, InputNorm: c.norm, OptimizerState: c.optim, Checksum: true}
		if info != want {
			t.Errorf("case %d: info %+v, want %+v", i, info, want)
		}
		goCk, err := model.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Params()
		for j := range got {
			if got[j] != goCk.Params[j] {
				t.Fatalf("case %d: parameter %d: C reads %g, Go %g", i, j, got[j], goCk.Params[j])
			}
		}
		// same outputs as the Go loader's estimator (which applies the norm)
		est, err := model.NewEstimator(goCk, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		in := model.Input{Hosts: 4, Res: make([]float32, 4*1019), Empty: make([]uint8, 4*10)}
		for j := range in.Res {
			in.Res[j] = 1 + float32(math.Abs(math.Sin(float64(j)*0.1)))
		}
		in.Empty[3], in.Empty[17] = 1, 1
		wantOut, err := est.Predict([]model.Input{in})
		est.Close()
		if err != nil {
			t.Fatal(err)
		}
		gotOut := make([]float32, 400)
		if err := m.Forward([]int32{4}, in.Res, in.Empty, false, 0, gotOut); err != nil {
			t.Fatal(err)
		}
		if _, err := bindings.ValidSlowdowns(gotOut, 4, 100); err != nil {
			t.Fatal(err)
		}
		for k := range gotOut {
			if gotOut[k] != wantOut[0][k] {
				t.Fatalf("case %d: output %d: C-loaded model %g, Go-loaded %g", i, k, gotOut[k], wantOut[0][k])
			}
		}
		m.Close()
	}
}

// TestLoadModelRefuses checks that files the Go reader refuses are refused
// by the C reader too, with a message naming the file and the problem, and
// that other features are refused as unsupported.
func TestLoadModelRefuses(t *testing.T) {
	img, err := model.Encode(smallCheckpoint(true, true, false), model.F32)
	if err != nil {
		t.Fatal(err)
	}
	nanAt := append([]byte(nil), img...)
	hl := int(uint64(img[0]) | uint64(img[1])<<8 | uint64(img[2])<<16)
	copy(nanAt[8+hl+4*7:], []byte{0, 0, 0xc0, 0x7f})
	nanAt = resum(nanAt) // a writer that checksummed its NaN: the values are checked too
	flipped := append([]byte(nil), img...)
	flipped[8+hl+12] ^= 0x04
	cases := []struct {
		name string
		img  []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"cut header", img[:64], "header length"},
		{"cut data", img[:len(img)-3], "truncated: tensors need"},
		{"trailing", append(append([]byte(nil), img...), 1, 2, 3, 4), "bytes after the last tensor"},
		{"NaN", nanAt, "element 7 is NaN"},
		{"flipped bit", flipped, "metadata data_sha256: the tensor data hash to"},
		{"version", []byte(strings.Replace(string(img), `"format_version":"1"`, `"format_version":"9"`, 1)), "unknown version"},
	}
	for i, c := range cases {
		if _, err := model.Decode("x.safetensors", c.img); err == nil {
			t.Fatalf("case %d (%s): Go reader accepts it", i, c.name)
		}
		_, err := bindings.CheckCheckpoint("x.safetensors", c.img)
		var ce *bindings.CheckpointError
		if !errors.As(err, &ce) || ce.Unsupported || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "x.safetensors: ") {
			t.Errorf("case %d (%s): C reader: %v, want an error naming x.safetensors and %q", i, c.name, err, c.want)
		}
	}
	other := smallCheckpoint(false, false, false)
	other.Features.Name = "synthetic"
	oimg, err := model.Encode(other, model.F32)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bindings.CheckCheckpoint("o.safetensors", oimg)
	var ce *bindings.CheckpointError
	if !errors.As(err, &ce) || !ce.Unsupported || !strings.Contains(err.Error(), `"synthetic"`) {
		t.Errorf("other features: %v, want unsupported", err)
	}
	_, _, err = bindings.LoadModel(filepath.Join(t.TempDir(), "none.safetensors"), 1)
	if !errors.As(err, &ce) || !ce.IO || !strings.Contains(err.Error(), "none.safetensors") {
		t.Errorf("missing file: %v", err)
	}
}

// estimateScenarios returns path scenarios with their parameters: reference
// shards of each path length when the reference data is there, else
// generated ones.
func estimateScenarios(t *testing.T) (paths []*scenario.Path, params [][features.NumParams]float64) {
	root := refdata.Find()
	dirs, _ := filepath.Glob(filepath.Join(root, "ns3-paths", "shard10[0-9]_*"))
	for _, d := range dirs {
		p, err := scenario.LoadShard(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := features.ReadParams(d, features.Tag(p.Hosts, 0), p.Hosts)
		if err != nil {
			t.Fatal(err)
		}
		paths, params = append(paths, p), append(params, pr)
	}
	if len(paths) > 0 {
		return paths, params
	}
	t.Logf("reference data not found under %s: generated scenarios only", root)
	for i, h := range []int{3, 5, 7} {
		p, err := scenario.Generate(scenario.GenSpec{Hosts: h, Flows: 2000, Load: 0.5, MeanBytes: 20000, Seed: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		cfg := features.DefaultConfig(cc.HPCC, 300, 15000, true)
		vec := cfg.Vector()
		pr, err := features.ParamVector(h, vec[:])
		if err != nil {
			t.Fatal(err)
		}
		paths, params = append(paths, p), append(params, pr)
	}
	return paths, params
}

// TestEstimatePathMatchesGo checks m4_estimate_path against the Go pipeline
// that m4 predict runs: flowsim.Run, features.BuildInput, model.EmptyBuckets
// and Estimator.Predict on the Go-loaded checkpoint. Both run the same C
// kernels, so the 400 values must be identical.
func TestEstimatePathMatchesGo(t *testing.T) {
	ck := smallCheckpoint(false, false, true)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := model.Save(path, ck, model.F32); err != nil {
		t.Fatal(err)
	}
	m, _, err := bindings.LoadModel(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	est, err := model.NewEstimator(ck, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	paths, params := estimateScenarios(t)
	for i, p := range paths {
		got, err := m.EstimatePath(p.Hosts, p.ArrivalNs, p.SizeBytes, p.Src, p.Dst, params[i][:])
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		res, err := flowsim.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		in, err := features.BuildInput(p, res.FCTNs, params[i])
		if err != nil {
			t.Fatal(err)
		}
		empty, err := model.EmptyBuckets(in.NumFlowsPerCell, in.Hosts, features.NumInputBuckets, features.NumPercentiles)
		if err != nil {
			t.Fatal(err)
		}
		want, err := est.Predict([]model.Input{{Hosts: in.Hosts, Res: in.Res, Empty: empty}})
		if err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if got[k] != want[0][k] {
				t.Fatalf("%s: estimate %d: C %g, Go pipeline %g", p.Name, k, got[k], want[0][k])
			}
		}
	}
	t.Logf("%d scenarios: C end-to-end estimate = Go pipeline, bit for bit", len(paths))
	// bad input names the field and flow
	p := paths[0]
	size := append([]float64(nil), p.SizeBytes...)
	size[3] = math.NaN()
	if _, err := m.EstimatePath(p.Hosts, p.ArrivalNs, size, p.Src, p.Dst, params[0][:]); err == nil || !strings.Contains(err.Error(), "size_bytes[3]") {
		t.Errorf("NaN size: %v", err)
	}
}

// BenchmarkEstimatePath times m4_estimate_path end to end (flowsim, feature
// map, model) with the checkpoint shipped with m4, on generated paths.
func BenchmarkEstimatePath(b *testing.B) {
	m, info, err := bindings.LoadModel("../ckpts/default.safetensors", 1)
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	for _, c := range []struct{ hosts, flows int }{{3, 1000}, {7, 10000}, {7, 100000}} {
		p, err := scenario.Generate(scenario.GenSpec{Hosts: c.hosts, Flows: c.flows, Load: 0.6, MeanBytes: 20000, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		cfg := features.DefaultConfig(cc.DCTCP, 300, 15000, true)
		vec := cfg.Vector()
		params, err := bindings.FeatureParams(c.hosts, vec[:])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("hosts=%d/flows=%d/dim=%d", c.hosts, c.flows, info.Config.Dim), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := m.EstimatePath(p.Hosts, p.ArrivalNs, p.SizeBytes, p.Src, p.Dst, params); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.flows)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
	}
}

// resum returns a checkpoint image with its data_sha256 recomputed for its
// data (the digest has a fixed length: the header keeps its size).
func resum(img []byte) []byte {
	n := binary.LittleEndian.Uint64(img)
	i := bytes.Index(img[:8+n], []byte(`"data_sha256":"`)) + len(`"data_sha256":"`)
	sum := sha256.Sum256(img[8+n:])
	out := append([]byte(nil), img...)
	copy(out[i:], hex.EncodeToString(sum[:]))
	return out
}

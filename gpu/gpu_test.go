package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/model"
)

// The GPU and the CPU compute the same fp32 functions; only the order of
// the sums inside dot products and reductions differs (and the GPU fuses
// multiply-adds). Stated tolerance for the forward pass, per element
// relative to max(|cpu|, 1), and as ||gpu - cpu|| / ||cpu|| over a batch:
const (
	tolMaxRel  = 2e-4
	tolNormRel = 2e-5
)

// TestABILayout checks the Go mirrors of the C structs passed to the
// library against C's layout: configC's size against libm4's m4_sizeof, and
// every field offset of both against a C compiler's reading of m4cuda.h
// (libm4cuda.so's header, which m4_sizeof does not cover).
func TestABILayout(t *testing.T) {
	var cfg configC
	var dev deviceC
	if bindings.Native {
		if s, want := unsafe.Sizeof(cfg), bindings.Sizeof("m4_model_config"); s != want {
			t.Errorf("configC is %d bytes, libm4's m4_model_config %d", s, want)
		}
	}
	got := []uintptr{
		unsafe.Sizeof(cfg), unsafe.Offsetof(cfg.OutDim), unsafe.Offsetof(cfg.NormEps), unsafe.Offsetof(cfg.Dropout),
		unsafe.Sizeof(dev), unsafe.Offsetof(dev.CCMajor), unsafe.Offsetof(dev.RuntimeVersion),
		unsafe.Offsetof(dev.TotalBytes), unsafe.Offsetof(dev.FreeBytes),
	}
	want := cLayout(t, `#include <stddef.h>
#include <stdio.h>
#include "m4cuda.h"
int main(void) {
    printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu\n", sizeof(m4_model_config), offsetof(m4_model_config, out_dim),
           offsetof(m4_model_config, norm_eps), offsetof(m4_model_config, dropout), sizeof(m4cuda_device),
           offsetof(m4cuda_device, cc_major), offsetof(m4cuda_device, runtime_version),
           offsetof(m4cuda_device, total_bytes), offsetof(m4cuda_device, free_bytes));
    return 0;
}
`, len(got))
	names := []string{
		"sizeof(m4_model_config)", "offsetof(out_dim)", "offsetof(norm_eps)", "offsetof(dropout)",
		"sizeof(m4cuda_device)", "offsetof(cc_major)", "offsetof(runtime_version)",
		"offsetof(total_bytes)", "offsetof(free_bytes)",
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s: Go %d, C %d", names[i], got[i], want[i])
		}
	}
}

// cLayout compiles and runs src, a C program printing n numbers, with $CC (as
// go env reports it) against gpu/ and native/'s headers, and returns the
// numbers. It skips the test where there is no C compiler.
func cLayout(t *testing.T, src string, n int) []uintptr {
	t.Helper()
	cc := "cc"
	if out, err := exec.Command("go", "env", "CC").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		cc = strings.Fields(string(out))[0]
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) to read m4cuda.h with", cc)
	}
	dir := t.TempDir()
	file, bin := filepath.Join(dir, "layout.c"), filepath.Join(dir, "layout")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-std=c99", "-I.", "-I../native", "-o", bin, file).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cc, err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) != n {
		t.Fatalf("layout program printed %q, want %d numbers", out, n)
	}
	v := make([]uintptr, n)
	for i, s := range f {
		x, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		v[i] = uintptr(x)
	}
	return v
}

// TestOpenReportsMissingLibrary: without a library at $M4_CUDA_LIB (which,
// when set, is the only place Open looks), Open says where it looked and
// which variable to set, as an ErrNoLibrary.
func TestOpenReportsMissingLibrary(t *testing.T) {
	dir := t.TempDir()
	notLib := filepath.Join(dir, LibName)
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, path := range []string{filepath.Join(dir, "missing", LibName), notLib} {
		t.Setenv(EnvLib, path)
		_, err := Open()
		if err == nil {
			t.Fatalf("case %d: Open loaded %s", i, path)
		}
		if !errors.Is(err, ErrNoLibrary) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), EnvLib) {
			t.Errorf("case %d: error %q: want ErrNoLibrary naming %s and %s", i, err, path, EnvLib)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("case %d: error is not one line: %q", i, err)
		}
	}
}

func TestStatusErrorKinds(t *testing.T) {
	for i, c := range []struct {
		st   int32
		kind error
	}{{stNoMemory, ErrOutOfMemory}, {stNoDriver, ErrNoDriver}, {stNoDevice, ErrNoDevice}, {stUnsupported, ErrUnsupported}} {
		err := statusError(c.st, "text")
		if !errors.Is(err, c.kind) || err.Error() != "text" {
			t.Errorf("case %d: status %d gave %v, want %v with text", i, c.st, err, c.kind)
		}
	}
	if err := statusError(stInvalidInput, "bad"); errors.Is(err, ErrNoDevice) || err.Error() != "bad" {
		t.Errorf("invalid input: %v", err)
	}
}

// device opens the library and its first device, or skips: the normal case
// on machines without CUDA (CI).
func device(t testing.TB) (*Lib, Device) {
	t.Helper()
	if !bindings.Native {
		t.Skip("no native CPU kernels to compare with: ", bindings.ErrNoNative)
	}
	lib, dev, err := Probe()
	if err != nil {
		t.Skipf("no usable GPU (the normal case without CUDA): %v", err)
	}
	return lib, dev
}

// randomParams draws every tensor at a scale that keeps activations O(1):
// N(0, 1/fan_in) weights, RMSNorm weights near 1, small biases, and a
// nonzero empty-bucket vector, so that every tensor shows in the output.
func randomParams(c bindings.ModelConfig, r *rand.Rand) []float32 {
	ts, err := model.Tensors(c)
	if err != nil {
		panic(err)
	}
	last := ts[len(ts)-1]
	p := make([]float32, last.Offset+last.Size)
	for _, tn := range ts {
		v := p[tn.Offset : tn.Offset+tn.Size]
		switch {
		case tn.Name == "const_tensor":
			for i := range v {
				v[i] = float32(1 + 2*r.Float64())
			}
		case strings.HasSuffix(tn.Name, "norm.weight"):
			for i := range v {
				v[i] = float32(1 + 0.2*r.NormFloat64())
			}
		case len(tn.Shape) == 1:
			for i := range v {
				v[i] = float32(0.1 * r.NormFloat64())
			}
		default:
			s := 1 / math.Sqrt(float64(tn.Shape[1]))
			for i := range v {
				v[i] = float32(s * r.NormFloat64())
			}
		}
	}
	return p
}

// randomBatch draws a batch of scenarios with the given host counts: feature
// values like slowdowns and configuration values, about a third of the
// buckets empty.
func randomBatch(c bindings.ModelConfig, hosts []int, r *rand.Rand) ([]int32, []float32, []uint8) {
	var rows []int32
	var feat []float32
	var empty []uint8
	for _, h := range hosts {
		rows = append(rows, int32(h))
		for i := 0; i < h*c.FeatDim; i++ {
			feat = append(feat, float32(1+4*r.Float64()*r.Float64()))
		}
		for i := 0; i < h*c.BucketsIn; i++ {
			e := uint8(0)
			if r.IntN(3) == 0 {
				e = 1
			}
			empty = append(empty, e)
		}
	}
	return rows, feat, empty
}

// compare returns the largest |g - c| / max(|c|, 1), the largest |g - c|
// and ||g - c|| / ||c||.
func compare(g, c []float32) (maxRel, maxAbs, normRel float64) {
	var num, den float64
	for i := range c {
		d := float64(g[i]) - float64(c[i])
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		maxAbs = math.Max(maxAbs, math.Abs(d))
		maxRel = math.Max(maxRel, math.Abs(d)/math.Max(math.Abs(float64(c[i])), 1))
		num += d * d
		den += float64(c[i]) * float64(c[i])
	}
	return maxRel, maxAbs, math.Sqrt(num / den)
}

// testConfigs: m3's model, the shipped checkpoint's shape, an odd one (3
// heads of 34, widths that fit no tile) and one whose attention needs more
// than 48 KB of shared memory (2 heads of 576).
func testConfigs() []struct {
	name string
	cfg  bindings.ModelConfig
	norm bool
} {
	m3 := bindings.DefaultModelConfig()
	small := m3
	small.Dim, small.Layers, small.Heads, small.Hidden = 128, 2, 4, 384
	odd := m3
	odd.Dim, odd.Layers, odd.Heads, odd.Hidden, odd.MLPHidden1, odd.MLPHidden2 = 102, 3, 3, 250, 131, 77
	wide := m3
	wide.Dim, wide.Layers, wide.Heads, wide.Hidden = 1152, 1, 2, 300
	return []struct {
		name string
		cfg  bindings.ModelConfig
		norm bool
	}{{"m3", m3, false}, {"small+norm", small, true}, {"odd", odd, true}, {"wide-heads", wide, false}}
}

// TestForwardMatchesCPU runs the GPU and the CPU forward on the same random
// weights and inputs: several batch sizes, 3, 5 and 7 hosts (and the
// extremes 2 and max_seq+1) mixed within a batch, empty buckets.
func TestForwardMatchesCPU(t *testing.T) {
	lib, dev := device(t)
	t.Logf("device: %s; library %s", dev, lib.Path)
	r := rand.New(rand.NewPCG(7, 11))
	for _, tc := range testConfigs() {
		c := tc.cfg
		const maxBatch = 64
		cpu, err := bindings.NewModel(c, maxBatch, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		gm, err := lib.NewModel(c, dev.Index, maxBatch, 0)
		if err != nil {
			cpu.Close()
			t.Fatalf("%s: %v", tc.name, err)
		}
		p := randomParams(c, r)
		if err := cpu.SetParams(p); err != nil {
			t.Fatal(err)
		}
		if err := gm.SetParams(p); err != nil {
			t.Fatal(err)
		}
		if tc.norm {
			shift, scale := make([]float32, c.FeatDim), make([]float32, c.FeatDim)
			for j := range shift {
				shift[j], scale[j] = float32(2*r.Float64()), float32(0.5+r.Float64())
			}
			if err := cpu.SetInputNorm(shift, scale); err != nil {
				t.Fatal(err)
			}
			if err := gm.SetInputNorm(shift, scale); err != nil {
				t.Fatal(err)
			}
		}
		for _, batch := range []int{1, 3, 17, 64} {
			hosts := make([]int, batch)
			for i := range hosts {
				hosts[i] = []int{3, 5, 7, 2, c.MaxSeq + 1}[(i+batch)%5]
			}
			rows, feat, empty := randomBatch(c, hosts, r)
			want := make([]float32, batch*c.OutDim)
			got := make([]float32, batch*c.OutDim)
			for i := range got {
				got[i] = float32(math.NaN())
			}
			if err := cpu.Forward(rows, feat, empty, false, 0, want); err != nil {
				t.Fatal(err)
			}
			if err := gm.Forward(rows, feat, empty, got); err != nil {
				t.Fatalf("%s, batch %d: %v", tc.name, batch, err)
			}
			maxRel, maxAbs, normRel := compare(got, want)
			gpuMs, kerMs, _ := gm.LastMs()
			t.Logf("%-10s batch %2d (hosts %v...): max rel %.2e, max abs %.2e, norm rel %.2e; device %.3f ms (kernels %.3f)",
				tc.name, batch, hosts[:min(5, batch)], maxRel, maxAbs, normRel, gpuMs, kerMs)
			if !(maxRel <= tolMaxRel && normRel <= tolNormRel) {
				t.Errorf("%s, batch %d: GPU differs from CPU: max rel %.3g (tol %g), norm rel %.3g (tol %g)",
					tc.name, batch, maxRel, tolMaxRel, normRel, tolNormRel)
			}
			// without empty flags: no bucket is replaced
			if batch == 3 {
				if err := cpu.Forward(rows, feat, nil, false, 0, want); err != nil {
					t.Fatal(err)
				}
				if err := gm.Forward(rows, feat, nil, got); err != nil {
					t.Fatal(err)
				}
				if maxRel, _, normRel := compare(got, want); !(maxRel <= tolMaxRel && normRel <= tolNormRel) {
					t.Errorf("%s, no empty flags: max rel %.3g, norm rel %.3g", tc.name, maxRel, normRel)
				}
			}
		}
		cpu.Close()
		gm.Close()
	}
}

// TestLayoutMatchesCPU: the library's parameter layout is the native one.
func TestLayoutMatchesCPU(t *testing.T) {
	lib, dev := device(t)
	for _, tc := range testConfigs() {
		cpu, err := bindings.NewModel(tc.cfg, 1, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		gm, err := lib.NewModel(tc.cfg, dev.Index, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, got := cpu.Tensors(), gm.Tensors()
		if len(got) != len(want) || gm.NumParams() != cpu.NumParams() {
			t.Fatalf("%s: %d tensors, %d params; CPU %d, %d", tc.name, len(got), gm.NumParams(), len(want), cpu.NumParams())
		}
		for i := range want {
			if got[i].Name != want[i].Name || got[i].Offset != want[i].Offset || got[i].Size != want[i].Size {
				t.Errorf("%s: tensor %d: %+v, CPU %s at %d size %d", tc.name, i, got[i], want[i].Name, want[i].Offset, want[i].Size)
			}
		}
		cpu.Close()
		gm.Close()
	}
}

// TestBadInputLikeCPU: NaN/Inf features, bad row counts and bad parameters
// give the CPU's error text, and leave the output untouched.
func TestBadInputLikeCPU(t *testing.T) {
	lib, dev := device(t)
	c := testConfigs()[1].cfg
	r := rand.New(rand.NewPCG(3, 4))
	cpu, err := bindings.NewModel(c, 4, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	gm, err := lib.NewModel(c, dev.Index, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer gm.Close()
	p := randomParams(c, r)
	if err := cpu.SetParams(p); err != nil {
		t.Fatal(err)
	}
	if err := gm.SetParams(p); err != nil {
		t.Fatal(err)
	}
	tail := func(err error) string {
		if err == nil {
			return "<nil>"
		}
		s := err.Error()
		return s[strings.Index(s, ": ")+2:]
	}
	for i, bad := range []func(rows []int32, feat []float32){
		func(rows []int32, feat []float32) { feat[3*c.FeatDim+5] = float32(math.NaN()) },   // scenario 1, row 0
		func(rows []int32, feat []float32) { feat[7*c.FeatDim+2] = float32(math.Inf(-1)) }, // scenario 1, row 4
		func(rows []int32, feat []float32) { rows[1] = int32(c.MaxSeq + 2) },
		func(rows []int32, feat []float32) { rows[0] = 1 },
	} {
		rows, feat, empty := randomBatch(c, []int{3, 5}, r)
		bad(rows, feat)
		if n := int(rows[0]+rows[1]) * c.FeatDim; len(feat) != n {
			// a changed row count: keep the sizes consistent for the wrappers
			feat = append(feat, make([]float32, max(0, n-len(feat)))...)[:n]
			empty = nil
		}
		out := []float32{-7, -7}
		out = append(out, make([]float32, 2*c.OutDim-2)...)
		cerr := cpu.Forward(rows, feat, empty, false, 0, make([]float32, 2*c.OutDim))
		gerr := gm.Forward(rows, feat, empty, out)
		if cerr == nil || gerr == nil || tail(cerr) != tail(gerr) {
			t.Errorf("case %d: GPU error %q, CPU error %q", i, gerr, cerr)
		}
		if out[0] != -7 || out[1] != -7 {
			t.Errorf("case %d: output written on error", i)
		}
	}
	p[17] = float32(math.NaN())
	cerr, gerr := cpu.SetParams(p), gm.SetParams(p)
	if cerr == nil || gerr == nil || tail(cerr) != tail(gerr) {
		t.Errorf("NaN parameter: GPU error %q, CPU error %q", gerr, cerr)
	}
}

// TestEstimatorOnGPU runs the shipped checkpoint (with its input
// normalisation) through model.Estimator on the GPU and on the CPU.
func TestEstimatorOnGPU(t *testing.T) {
	lib, dev := device(t)
	ck, err := model.Decode(ckpts.DefaultName, ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 8
	gm, err := lib.NewModel(ck.Config, dev.Index, batch, 0)
	if err != nil {
		t.Fatal(err)
	}
	ge, err := model.NewEstimatorOn(ck, gm, batch)
	if err != nil {
		t.Fatal(err)
	}
	defer ge.Close()
	ce, err := model.NewEstimator(ck, batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ce.Close()
	if k := ge.Kernel(); !strings.Contains(k, dev.Name) {
		t.Errorf("GPU estimator's kernel %q does not name the device %q", k, dev.Name)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var in []model.Input
	for i := 0; i < 19; i++ { // more than one batch
		h := 2 + i%8
		rows, feat, empty := randomBatch(ck.Config, []int{h}, r)
		in = append(in, model.Input{Hosts: int(rows[0]), Res: feat, Empty: empty})
	}
	g, err := ge.Predict(in)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ce.Predict(in)
	if err != nil {
		t.Fatal(err)
	}
	var gf, cf []float32
	for i := range in {
		gf, cf = append(gf, g[i]...), append(cf, c[i]...)
	}
	maxRel, maxAbs, normRel := compare(gf, cf)
	t.Logf("shipped checkpoint, 19 paths: max rel %.2e, max abs %.2e, norm rel %.2e", maxRel, maxAbs, normRel)
	if !(maxRel <= tolMaxRel && normRel <= tolNormRel) {
		t.Errorf("GPU estimator differs: max rel %.3g, norm rel %.3g", maxRel, normRel)
	}
}

// BenchmarkForward times inference per path of m3's model on 5-host paths
// (as `m4 bench model`) at batch 1, 256 and 4096, on the GPU and on the CPU's
// native kernels (all cores; cpu1: one thread), with random weights and
// inputs. Wall time per path includes the copies to and from the GPU;
// device-ms/path is the same by CUDA events, kernel-ms/path the kernels alone.
func BenchmarkForward(b *testing.B) {
	c := bindings.DefaultModelConfig()
	const hosts = 5
	r := rand.New(rand.NewPCG(1, 2))
	p := randomParams(c, r)
	for _, dv := range []string{"gpu", "cpu", "cpu1"} {
		for _, batch := range []int{1, 256, 4096} {
			if dv == "cpu1" && batch > 1 {
				continue // one thread: batch 1 only, where more threads may not help
			}
			b.Run(fmt.Sprintf("%s/batch=%d", dv, batch), func(b *testing.B) {
				hs := make([]int, batch)
				for i := range hs {
					hs[i] = hosts
				}
				rows, feat, empty := randomBatch(c, hs, r)
				out := make([]float32, batch*c.OutDim)
				var fwd func() error
				var gm *Model
				if dv == "gpu" {
					lib, dev := device(b)
					var err error
					if gm, err = lib.NewModel(c, dev.Index, batch, batch*(hosts-1)); err != nil {
						b.Fatal(err)
					}
					defer gm.Close()
					if err := gm.SetParams(p); err != nil {
						b.Fatal(err)
					}
					fwd = func() error { return gm.Forward(rows, feat, empty, out) }
				} else {
					if !bindings.Native {
						b.Skip(bindings.ErrNoNative)
					}
					cm, err := bindings.NewModel(c, batch, batch*(hosts-1), false)
					if err != nil {
						b.Fatal(err)
					}
					defer cm.Close()
					if err := cm.SetParams(p); err != nil {
						b.Fatal(err)
					}
					threads := runtime.NumCPU()
					if dv == "cpu1" {
						threads = 1
					}
					if err := cm.SetThreads(threads); err != nil {
						b.Fatal(err)
					}
					fwd = func() error { return cm.Forward(rows, feat, empty, false, 0, out) }
				}
				if err := fwd(); err != nil { // warm-up
					b.Fatal(err)
				}
				var devMs, kerMs float64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := fwd(); err != nil {
						b.Fatal(err)
					}
					if gm != nil {
						t, k, _ := gm.LastMs()
						devMs, kerMs = devMs+t, kerMs+k
					}
				}
				b.StopTimer()
				paths := float64(b.N * batch)
				b.ReportMetric(b.Elapsed().Seconds()*1e3/paths, "ms/path")
				b.ReportMetric(model.ForwardFlops(c, hosts)*paths/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				if gm != nil {
					b.ReportMetric(devMs/paths, "device-ms/path")
					b.ReportMetric(kerMs/paths, "kernel-ms/path")
				}
			})
		}
	}
}

// BenchSgemm times the backend's GEMM, C (M,N) = A (M,K) @ B (N,K)^T, on
// device dev (median of reps) and returns GFLOP/s.
func (l *Lib) BenchSgemm(dev, m, n, k, reps int) (float64, error) {
	eb := make([]byte, 512)
	g := l.api.benchSgemm(int32(dev), int32(m), int32(n), int32(k), int32(reps), eb, uintptr(len(eb)))
	if g < 0 {
		return 0, &Error{nil, "bench sgemm: " + cstr(eb)}
	}
	return g, nil
}

// BenchmarkSgemm times the GPU GEMM alone on the model's products at batch
// 4096 of 5-host paths (M = 16384 transformer rows).
func BenchmarkSgemm(b *testing.B) {
	lib, dev := device(b)
	for _, s := range [][3]int{{16384, 576, 1019}, {16384, 1728, 576}, {16384, 3072, 576}, {16384, 576, 1536}, {4096, 512, 1595}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]), func(b *testing.B) {
			var g float64
			for i := 0; i < b.N; i++ {
				var err error
				if g, err = lib.BenchSgemm(dev.Index, s[0], s[1], s[2], 20); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

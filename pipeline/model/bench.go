package model

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/m4sim/m4/bindings"
)

// BenchSpec sets up a model benchmark: a model of Config, path scenarios of
// Hosts hosts with random features, Threads kernel threads.
type BenchSpec struct {
	Config     bindings.ModelConfig
	Hosts      int
	Threads    int
	TrainBatch int     // scenarios per training step (m3: 20)
	InferBatch []int   // batch sizes for inference (1, 256)
	Seconds    float64 // time budget per measurement (best of as many repetitions as fit)
}

// BenchResult holds the benchmark's measurements.
type BenchResult struct {
	Kernel              string             `json:"kernel"`
	Threads             int                `json:"threads"`
	Hosts               int                `json:"hosts"`
	Params              int                `json:"params"`
	FMAPeakCoreGFLOPS   float64            `json:"fma_peak_core_gflops"`   // one core
	TrainBatch          int                `json:"train_batch"`            //
	TrainStepMs         float64            `json:"train_step_ms"`          // forward + backward + AdamW
	TrainSamplesPerSec  float64            `json:"train_samples_per_sec"`  //
	InferMsPerPath      map[string]float64 `json:"infer_ms_per_path"`      // by batch size
	InferGFLOPS         map[string]float64 `json:"infer_gflops"`           // model flops / time, by batch size
	ForwardFlopsPerPath float64            `json:"forward_flops_per_path"` // 2 x multiply-adds of the linear layers
	Gemm                []GemmResult       `json:"gemm"`
}

// GemmResult is one matrix multiply's speed (pre-packed B, as the forward).
type GemmResult struct {
	M, N, K int
	GFLOPS  float64 `json:"gflops"`
}

// ForwardFlops returns the flops of the linear layers (2 per multiply-add)
// of one scenario with hosts hosts: the bulk of the model's work.
func ForwardFlops(c bindings.ModelConfig, hosts int) float64 {
	rows := float64(hosts - 1)
	d, h := float64(c.Dim), float64(c.Hidden)
	perRow := float64(c.FeatDim)*d + float64(c.Layers)*(4*d*d+3*d*h) + d*d
	mlp := float64(c.FeatDim+c.Dim)*float64(c.MLPHidden1) + float64(c.MLPHidden1)*float64(c.MLPHidden2) + float64(c.MLPHidden2)*float64(c.OutDim)
	return 2 * (rows*perRow + mlp)
}

func benchInputs(c bindings.ModelConfig, hosts, batch int, r *rand.Rand) ([]int32, []float32, []uint8, []float32, []float32) {
	rows := make([]int32, batch)
	feat := make([]float32, batch*hosts*c.FeatDim)
	empty := make([]uint8, batch*hosts*c.BucketsIn)
	target := make([]float32, batch*c.OutDim)
	mask := make([]float32, batch*c.OutDim)
	for i := range rows {
		rows[i] = int32(hosts)
	}
	for i := range feat {
		feat[i] = 1 + 3*r.Float32()
	}
	for i := range empty {
		if r.IntN(3) == 0 {
			empty[i] = 1
		}
	}
	for i := range target {
		target[i], mask[i] = 1+5*r.Float32(), float32(r.IntN(2))
	}
	return rows, feat, empty, target, mask
}

// best runs f repeatedly for about seconds (at least twice, after one warm-up)
// and returns its fastest time.
func best(seconds float64, f func() error) (time.Duration, error) {
	if err := f(); err != nil {
		return 0, err
	}
	var b time.Duration
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for i := 0; i < 2 || time.Now().Before(end); i++ {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		if d := time.Since(t0); b == 0 || d < b {
			b = d
		}
	}
	return b, nil
}

// Bench measures training and inference speed of the native kernels.
func Bench(s BenchSpec) (*BenchResult, error) {
	c := s.Config
	if s.Hosts < 2 || s.Hosts > c.MaxSeq+1 {
		return nil, fmt.Errorf("bench: %d hosts, want 2..%d", s.Hosts, c.MaxSeq+1)
	}
	np, err := NumParams(c)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	res := &BenchResult{Threads: s.Threads, Hosts: s.Hosts, Params: np, TrainBatch: s.TrainBatch,
		InferMsPerPath: map[string]float64{}, InferGFLOPS: map[string]float64{}, ForwardFlopsPerPath: ForwardFlops(c, s.Hosts)}
	res.FMAPeakCoreGFLOPS = bindings.BenchFMAPeak(0.3)

	// training step
	m, err := bindings.NewModel(c, s.TrainBatch, s.TrainBatch*(s.Hosts-1), true)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := m.SetThreads(s.Threads); err != nil {
		return nil, err
	}
	res.Kernel = m.Kernel()
	rows, feat, empty, target, mask := benchInputs(c, s.Hosts, s.TrainBatch, r)
	out := make([]float32, s.TrainBatch*c.OutDim)
	step := 0
	d, err := best(s.Seconds, func() error {
		step++
		if err := m.Forward(rows, feat, empty, true, uint64(step), out); err != nil {
			return err
		}
		if _, err := m.Backward(target, mask); err != nil {
			return err
		}
		return m.AdamW(1e-4, 0.9, 0.95, 1e-8, 0.02, step)
	})
	if err != nil {
		return nil, err
	}
	res.TrainStepMs = d.Seconds() * 1e3
	res.TrainSamplesPerSec = float64(s.TrainBatch) / d.Seconds()
	m.Close()

	// inference
	for _, b := range s.InferBatch {
		im, err := bindings.NewModel(c, b, b*(s.Hosts-1), false)
		if err != nil {
			return nil, err
		}
		if err := im.SetThreads(s.Threads); err != nil {
			im.Close()
			return nil, err
		}
		rows, feat, empty, _, _ := benchInputs(c, s.Hosts, b, r)
		out := make([]float32, b*c.OutDim)
		d, err := best(s.Seconds, func() error { return im.Forward(rows, feat, empty, false, 0, out) })
		im.Close()
		if err != nil {
			return nil, err
		}
		key := fmt.Sprint(b)
		res.InferMsPerPath[key] = d.Seconds() * 1e3 / float64(b)
		res.InferGFLOPS[key] = res.ForwardFlopsPerPath * float64(b) / d.Seconds() / 1e9
	}

	// the forward's matrix multiplies at the largest inference batch
	big := 1
	for _, b := range s.InferBatch {
		big = max(big, b)
	}
	R := big * (s.Hosts - 1)
	for _, g := range [][3]int{{R, c.Dim, c.FeatDim}, {R, c.Dim, c.Dim}, {R, c.Hidden, c.Dim}, {R, c.Dim, c.Hidden},
		{big, c.MLPHidden1, c.FeatDim + c.Dim}} {
		res.Gemm = append(res.Gemm, GemmResult{M: g[0], N: g[1], K: g[2],
			GFLOPS: bindings.BenchSgemm(g[0], g[1], g[2], s.Threads, 5)})
	}
	return res, nil
}

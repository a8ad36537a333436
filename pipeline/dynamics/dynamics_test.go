//go:build cgo

package dynamics

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
)

// star is a workload of n flows among h hosts around one switch: link i
// (i < h) goes from host i to the switch, link h+i back to host i, all at
// gbps with 1 us of delay; sizes 1 kB .. 200 kB log-uniform, arrivals with
// mean gap meanGap ns, all drawn from seed.
func star(seed uint64, n, h int, gbps float64, meanGap float64) *bindings.DynWorkload {
	r := rand.New(rand.NewPCG(seed, 7))
	w := &bindings.DynWorkload{FlowRoutePtr: []int64{0}}
	for range 2 * h {
		w.LinkGbps = append(w.LinkGbps, gbps)
		w.LinkDelayNs = append(w.LinkDelayNs, 1000)
	}
	t := 0.0
	for range n {
		src := r.IntN(h)
		dst := (src + 1 + r.IntN(h-1)) % h
		w.FlowSize = append(w.FlowSize, int64(math.Exp(math.Log(1000)+r.Float64()*math.Log(200))))
		w.FlowStartNs = append(w.FlowStartNs, int64(t))
		t += r.ExpFloat64() * meanGap
		w.FlowRoute = append(w.FlowRoute, int32(src), int32(h+dst))
		w.FlowRoutePtr = append(w.FlowRoutePtr, int64(len(w.FlowRoute)))
	}
	return w
}

func wireNs(size int64, gbps float64) float64 {
	s := float64(size)
	return (s + math.Ceil(s/1000)*48) * 8 / gbps
}

// TestFluid checks the fluid trace against hand-computed max-min fair FCTs.
func TestFluid(t *testing.T) {
	one := func(sizes, starts []int64, routes [][]int32) *bindings.DynWorkload {
		w := &bindings.DynWorkload{FlowSize: sizes, FlowStartNs: starts, FlowRoutePtr: []int64{0},
			LinkGbps: []float64{10, 10, 40}, LinkDelayNs: []int64{1000, 500, 0}}
		for _, r := range routes {
			w.FlowRoute = append(w.FlowRoute, r...)
			w.FlowRoutePtr = append(w.FlowRoutePtr, int64(len(w.FlowRoute)))
		}
		return w
	}
	cases := []struct {
		name string
		w    *bindings.DynWorkload
		fct  []float64
	}{
		{"alone", one([]int64{50000}, []int64{100}, [][]int32{{0, 2}}),
			[]float64{wireNs(50000, 10) + 1000}},
		{"two share link 0", one([]int64{30000, 30000}, []int64{0, 0}, [][]int32{{0}, {0, 1}}),
			[]float64{2*wireNs(30000, 10) + 1000, 2*wireNs(30000, 10) + 1500}},
		{"disjoint", one([]int64{30000, 10000}, []int64{0, 500}, [][]int32{{0}, {1}}),
			[]float64{wireNs(30000, 10) + 1000, wireNs(10000, 10) + 500}},
		// flow 1 arrives half way through flow 0, takes half of link 0
		// until flow 0 ends, then all of it
		{"late joiner", one([]int64{20000, 20000}, []int64{0, 8384}, [][]int32{{0}, {0}}),
			[]float64{8384 + 2*8384 + 1000, 2*8384 + 8384 + 1000}},
	}
	for i, c := range cases {
		tr, err := Fluid(c.w)
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, c.name, err)
		}
		for f, want := range c.fct {
			if got := float64(tr.FlowFCTNs[f]); math.Abs(got-want) > 2 {
				t.Errorf("case %d (%s): flow %d FCT %g, want %g", i, c.name, f, got, want)
			}
		}
		if c.name == "alone" && tr.FlowFCTNs[0] != tr.FlowIdealNs[0] {
			t.Errorf("case %d: a flow alone has FCT %d, ideal %d", i, tr.FlowFCTNs[0], tr.FlowIdealNs[0])
		}
		if len(tr.EvTimeNs) != 2*len(c.fct) {
			t.Errorf("case %d (%s): %d events, want %d", i, c.name, len(tr.EvTimeNs), 2*len(c.fct))
		}
		if err := tr.Check(); err != nil {
			t.Errorf("case %d (%s): %v", i, c.name, err)
		}
	}
}

// TestFluidTrace: on a busier workload every flow arrives once and departs
// once, its remaining bytes start at its size and never grow, and the
// native model accepts the trace.
func TestFluidTrace(t *testing.T) {
	w := star(1, 40, 4, 10, 3000)
	tr, err := Fluid(w)
	if err != nil {
		t.Fatal(err)
	}
	last := map[int32]float32{}
	for e := range tr.EvTimeNs {
		for j := tr.EvActivePtr[e]; j < tr.EvActivePtr[e+1]; j++ {
			f, r := tr.EvActiveFlow[j], tr.EvActiveRemaining[j]
			prev, seen := last[f]
			if !seen && (tr.EvKind[e] != 0 || tr.EvFlow[e] != f || r != float32(w.FlowSize[f])) {
				t.Fatalf("event %d: flow %d first seen with %g bytes", e, f, r)
			}
			if seen && r > prev {
				t.Fatalf("event %d: flow %d remaining grew %g -> %g", e, f, prev, r)
			}
			last[f] = r
		}
	}
	if len(last) != 40 || len(tr.EvTimeNs) != 80 {
		t.Errorf("%d flows seen in %d events", len(last), len(tr.EvTimeNs))
	}
	for f := range tr.FlowFCTNs {
		if tr.FlowFCTNs[f] < tr.FlowIdealNs[f]-1 {
			t.Errorf("flow %d: FCT %d below its ideal %d", f, tr.FlowFCTNs[f], tr.FlowIdealNs[f])
		}
	}
	d, err := bindings.NewDyn(small(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Forward(tr, 0, len(tr.EvTimeNs)); err != nil {
		t.Fatal(err)
	}
}

func small() bindings.DynConfig {
	c := bindings.DefaultDynConfig()
	c.Hidden, c.GNNWidth, c.GNNLayers, c.MLPHidden = 16, 24, 2, 16
	return c
}

func trainOptions(out string, epochs int) Options {
	o := Defaults()
	o.Config = small()
	o.Epochs, o.LR, o.Window, o.Out, o.Seed = epochs, 3e-3, 24, out, 5
	o.Data = []string{"a", "b"}
	return o
}

// TestTrainResume: training lowers the loss and the event loop's FCT
// error on held-out traces; a run stopped after 8 epochs and resumed ends
// bit for bit where an uninterrupted one does; the checkpoints load back.
func TestTrainResume(t *testing.T) {
	var train, val []*bindings.DynTrace
	for i, s := range []uint64{11, 12, 13} {
		tr, err := Fluid(star(s, 30, 4, 10, 4000))
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			train = append(train, tr)
		} else {
			val = append(val, tr)
		}
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "full.safetensors")
	ck, err := Train(trainOptions(full, 20), train, val)
	if err != nil {
		t.Fatal(err)
	}
	h := ck.Training.History
	for _, e := range h {
		t.Logf("epoch %d: loss %.4f (slowdown %.4f, remain %.4f), val FCT error %.3f", e.Epoch, e.Loss, e.Slowdown, e.Remain, e.ValFCTError)
	}
	if !(h[len(h)-1].Loss < 0.6*h[0].Loss) {
		t.Errorf("loss %.4f -> %.4f, want a fall below 60%%", h[0].Loss, h[len(h)-1].Loss)
	}
	if !(h[len(h)-1].ValFCTError < h[0].ValFCTError) {
		t.Errorf("validation FCT error %.4f -> %.4f, want a fall", h[0].ValFCTError, h[len(h)-1].ValFCTError)
	}

	part := filepath.Join(dir, "part.safetensors")
	po := trainOptions(part, 8)
	var prog bytes.Buffer // not a terminal: lines, here one a window
	po.Progress, po.ProgressEvery = &prog, time.Nanosecond
	if _, err := Train(po, train, val); err != nil {
		t.Fatal(err)
	}
	total := len(train[0].EvTimeNs) + len(train[1].EvTimeNs)
	last := fmt.Sprintf("epoch 8/8: %d/%d events in ", total, total)
	first := fmt.Sprintf("epoch 1/8: %d/%d events in ", po.Window, total)
	if n := strings.Count(prog.String(), "events in "); n < 16 || !strings.Contains(prog.String(), last) ||
		!strings.Contains(prog.String(), first) {
		t.Errorf("progress: %d lines, want one a window and %q:\n%s", n, last, prog.String())
	}
	o := trainOptions(part, 20)
	o.Resume = true
	ck2, err := Train(o, train, val)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ck.Params, ck2.Params) {
		t.Errorf("resumed run's parameters differ from the uninterrupted run's")
	}
	if ck2.Training.Step != ck.Training.Step || len(ck2.Training.History) != 20 {
		t.Errorf("resumed: step %d (want %d), %d epochs of history", ck2.Training.Step, ck.Training.Step, len(ck2.Training.History))
	}

	got, err := Load(full)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Params, ck.Params) || got.ExpAvg != nil || got.Config != ck.Config || got.Training.Epoch != 20 {
		t.Errorf("the saved model does not load back as trained")
	}
	res, err := Load(ResumePath(full))
	if err != nil || res.ExpAvg == nil {
		t.Errorf("resume state: %v (moments %v)", err, res != nil && res.ExpAvg != nil)
	}
	card, err := os.ReadFile(CardPath(full))
	if err != nil || !strings.Contains(string(card), "| 20 |") || !strings.Contains(string(card), "GraphSAGE") {
		t.Errorf("card: %v\n%s", err, card)
	}
	// another run's resume state is refused
	o = trainOptions(part, 21)
	o.Resume, o.Seed = true, 99
	if _, err := Train(o, train, val); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("a resume state of another seed: %v", err)
	}
}

// TestDecodeRejects: a damaged or foreign file is an error naming what is
// wrong (the native reader's; native/tests/dynamics_checkpoint_test.c has
// the full list).
func TestDecodeRejects(t *testing.T) {
	cfg := small()
	cfg.WEvery = 0.75 // dyn_config's w_every reads back too
	d, err := bindings.NewDyn(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	ck := &Checkpoint{Config: cfg, Params: d.Params()}
	d.Close()
	good, err := Encode(ck)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode("good", good)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != ck.Config || !slices.Equal(got.Params, ck.Params) || got.ExpAvg != nil {
		t.Errorf("a checkpoint does not decode to what was encoded")
	}
	cases := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-4] }, "truncated"},
		{"flipped bit", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "data_sha256"},
		{"format", func(b []byte) []byte { return []byte(strings.Replace(string(b), FormatName, "m4-dynamicz", 1)) },
			`metadata format = "m4-dynamicz"`},
		{"short", func(b []byte) []byte { return b[:5] }, "truncated"},
		{"config", func(b []byte) []byte { return []byte(strings.Replace(string(b), `\"hidden\":16`, `\"hidden\":-1`, 1)) },
			"dyn_config: hidden = -1, want 1..16384"},
		{"too big for the data", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `\"hidden\":16`, `\"hidden\":99`, 1))
		}, "cannot fit"},
		{"shape", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"shape":[16,3]`, `"shape":[3,16]`, 1))
		}, "shape [3 16], want [16 3]"},
	}
	for i, c := range cases {
		b := c.edit(slices.Clone(good))
		if _, err := Decode("x.safetensors", b); err == nil || !strings.Contains(err.Error(), c.want) ||
			!strings.HasPrefix(err.Error(), "x.safetensors: ") {
			t.Errorf("case %d (%s): %v, want an error about %s", i, c.name, err, c.want)
		}
	}
}

// TestFixture: the C reader's test fixture
// (native/tests/fixtures/dyn_small.safetensors, read by
// dynamics_checkpoint_test.c) is what Encode writes today, and decodes back
// to it. M4_UPDATE_FIXTURES=1 rewrites it.
func TestFixture(t *testing.T) {
	cfg := bindings.DynConfig{Hidden: 4, GNNWidth: 3, GNNLayers: 2, MLPHidden: 2, LNEps: 1e-5, WRemain: 0.25,
		WQueue: 0.5, QueueNormBytes: 1000, NParams: 2}
	d, err := bindings.NewDyn(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Init(7); err != nil {
		t.Fatal(err)
	}
	ck := &Checkpoint{Config: cfg, Params: d.Params(), Training: TrainInfo{Command: "fixture", Seed: 7, LR: 1e-3,
		Window: 8, Epochs: 2, Epoch: 1, Step: 3, History: []EpochStat{{Epoch: 1, Loss: 0.5, Seconds: 1}}}}
	d.Close()
	// trained ranges as m4 train records them: DCTCP at 1-4 MB buffers and
	// HPCC at 2 MB, 32-64 hosts, 10 and 40 Gbps links (dynamics_checkpoint_test.c
	// checks workloads against them)
	ck.Training.Ranges = &Ranges{}
	for _, w := range []struct {
		c      cc.CC
		buffer int
		hosts  int
	}{{cc.DCTCP, 1024, 32}, {cc.DCTCP, 4096, 64}, {cc.HPCC, 2048, 32}} {
		ck.Training.Ranges.Add(features.DefaultConfig(w.c, w.buffer, 16000, true), w.hosts, []float64{40, 10})
	}
	ck.ExpAvg, ck.ExpAvgSq = make([]float32, len(ck.Params)), make([]float32, len(ck.Params))
	for i := range ck.Params {
		ck.ExpAvg[i], ck.ExpAvgSq[i] = float32(i)/1024, float32(i)/4096
	}
	b, err := Encode(ck)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "native", "tests", "fixtures", "dyn_small.safetensors")
	if os.Getenv("M4_UPDATE_FIXTURES") == "1" {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Params, ck.Params) || !slices.Equal(got.ExpAvg, ck.ExpAvg) ||
		!slices.Equal(got.ExpAvgSq, ck.ExpAvgSq) || got.Config != cfg || got.Training.Step != 3 ||
		len(got.Training.History) != 1 {
		t.Errorf("%s does not load back to the fixture's checkpoint", path)
	}
	if bytes.Contains(b, []byte("w_every")) { // 0 is left out, as in files written before it existed
		t.Errorf("%s: names w_every at 0", path)
	}
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, b) {
		t.Errorf("%s: not what Encode writes today (%v); rerun with M4_UPDATE_FIXTURES=1", path, err)
	}
}

// editHeader returns checkpoint image b with the first old in its header
// replaced by new, and the header's length updated.
func editHeader(b []byte, old, new string) []byte {
	hl := binary.LittleEndian.Uint64(b)
	h := strings.Replace(string(b[8:8+hl]), old, new, 1)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), b[8+hl:]...)
}

// FuzzDecode: any bytes decode to a checkpoint or an error, never a panic
// or an allocation beyond what the data could hold.
func FuzzDecode(f *testing.F) {
	d, err := bindings.NewDyn(small(), false)
	if err != nil {
		f.Fatal(err)
	}
	good, err := Encode(&Checkpoint{Config: small(), Params: d.Params()})
	d.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:40])
	f.Add(editHeader(good, `\"hidden\":16,`, `\"hidden\":16384,`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := Decode("fuzz", b)
		if err == nil && len(ck.Params) == 0 {
			t.Fatal("decoded a checkpoint without parameters")
		}
	})
}

// TestTrainThreads: a run on 2 kernel threads ends with the parameters of
// a run on 1, bit for bit.
func TestTrainThreads(t *testing.T) {
	tr, err := Fluid(star(31, 40, 4, 10, 3000))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]float32
	for _, threads := range []int{1, 2} {
		o := trainOptions("", 2)
		o.Config = bindings.DefaultDynConfig() // wide enough that the GEMMs split
		o.Data, o.Threads, o.LR = nil, threads, 1e-3
		ck, err := Train(o, []*bindings.DynTrace{tr}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ck.Params)
	}
	if !slices.Equal(got[0], got[1]) {
		t.Error("the parameters differ on 1 and 2 threads")
	}
}

// TestTrainReplicas: with two replicas a step applies the mean of the two
// windows' gradients (each as one model alone computes it) and the replicas
// then share the stepped parameters; a run is deterministic, its loss
// falls (at its best epoch: lr 3e-3 is noisy), and its resume state refuses
// a run with another replica count.
func TestTrainReplicas(t *testing.T) {
	var train []*bindings.DynTrace
	for _, s := range []uint64{21, 22, 23} {
		tr, err := Fluid(star(s, 30, 4, 10, 4000))
		if err != nil {
			t.Fatal(err)
		}
		train = append(train, tr)
	}
	o := trainOptions("", 1)
	o.Replicas = 2
	alone := func(tr *bindings.DynTrace) []float32 {
		d, err := bindings.NewDyn(o.Config, true)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.Init(o.Seed)
		if _, err := d.Forward(tr, 0, o.Window); err != nil {
			t.Fatal(err)
		}
		if err := d.Backward(); err != nil {
			t.Fatal(err)
		}
		return d.Grads()
	}
	ga, gb := alone(train[0]), alone(train[1])
	var reps []*bindings.Dyn
	for range 2 {
		d, err := bindings.NewDyn(o.Config, true)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		d.Init(o.Seed)
		reps = append(reps, d)
	}
	stop := errors.New("stop")
	steps := 0
	err := runEpoch(&o, reps, train, []int{0, 1, 2}, func(ls []bindings.DynLoss, events []int) error {
		steps++
		if steps == 1 {
			if len(ls) != 2 || events[0] != o.Window || events[1] != o.Window {
				t.Fatalf("first step: %d windows of %v events", len(ls), events)
			}
			g := reps[0].Grads()
			for i := range g {
				if want := (ga[i] + gb[i]) * 0.5; g[i] != want {
					t.Fatalf("gradient %d: %g, the mean of the two windows' is %g", i, g[i], want)
				}
			}
			return reps[0].AdamW(float32(o.LR), 0.9, 0.999, 1e-8, 0, 1)
		}
		if !slices.Equal(reps[0].Params(), reps[1].Params()) {
			t.Fatal("after a step the replicas' parameters differ")
		}
		return stop
	})
	if !errors.Is(err, stop) || steps != 2 {
		t.Fatalf("runEpoch: %v after %d steps", err, steps)
	}

	dir := t.TempDir()
	var got []*Checkpoint
	for i := range 2 {
		o := trainOptions(filepath.Join(dir, fmt.Sprintf("r%d.safetensors", i)), 12)
		o.Replicas, o.Data = 2, nil
		ck, err := Train(o, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ck)
	}
	h := got[0].Training.History
	for _, e := range h {
		t.Logf("2 replicas, epoch %d: loss %.4f", e.Epoch, e.Loss)
	}
	if !slices.Equal(got[0].Params, got[1].Params) {
		t.Error("two runs with 2 replicas differ")
	}
	best := h[0].Loss
	for _, e := range h {
		best = min(best, e.Loss)
	}
	if !(best < 0.7*h[0].Loss) || got[0].Training.Replicas != 2 {
		t.Errorf("loss %.4f -> at best %.4f, replicas %d", h[0].Loss, best, got[0].Training.Replicas)
	}
	o1 := trainOptions(filepath.Join(dir, "r0.safetensors"), 14)
	o1.Data, o1.Resume = nil, true
	if _, err := Train(o1, train, nil); err == nil || !strings.Contains(err.Error(), "replicas 2") {
		t.Errorf("resuming a 2-replica run with 1: %v", err)
	}
}

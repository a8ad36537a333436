package infer

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/pathfeat"
)

// percentiles is one estimator's slowdown percentiles of a path per bucket.
type percentiles = [aggregate.NumBuckets][aggregate.NumPercentiles]float64

// chunk is one model batch of consecutive paths of a run's list, lo..hi-1,
// with their estimates.
type chunk struct {
	lo, hi         int
	flowsim, model []percentiles
	// per path, its bucket remap (pathfeat.RemapModel), used where
	// scaled (a rate scale other than 1)
	remap  []pathfeat.Remap
	scaled []bool
}

// runner estimates a list of paths on a pool of workers (see Run).
type runner struct {
	d       *decompose.Decomposition
	est     *model.Estimator
	opt     Options
	paths   []int
	res     []PathResult
	params  map[shape]hostParams
	def     string    // the feature definition
	scale   []float64 // per path, its rate scale (pathfeat.RateScale)
	batch   int
	workers int
}

// shape is what a path's parameter block depends on: its hosts and its
// rate scale (pathfeat.RateScale).
type shape struct {
	hosts int
	scale float64
}

type hostParams struct {
	p   [features.NumParams]float64 // with one foreground flow
	vec [15]float64                 // the configuration vector, rate-normalised
	err error
}

// fgShape is what a path's parameter block depends on under a definition
// that reads the foreground flows (features.ReadsForeground).
type fgShape struct {
	shape
	fg int
}

func newRunner(d *decompose.Decomposition, cfg features.Config, est *model.Estimator, opt Options, paths []int) (*runner, error) {
	r := &runner{d: d, est: est, opt: opt, paths: paths, res: make([]PathResult, len(paths)),
		params: map[shape]hostParams{}, scale: make([]float64, len(paths)), def: features.V1}
	if est != nil {
		r.def = est.Checkpoint().Features.Name
		cfg = est.Checkpoint().OnNetwork(cfg) // what the model reads (PFC off seen on parking lots only)
	}
	t := d.Routing.Topology()
	var gbps []float64
	for i, p := range paths {
		chans := d.PathChannels(p)
		h := len(chans) + 1
		r.res[i] = PathResult{Path: p, Hosts: h}
		gbps = gbps[:0]
		for _, c := range chans {
			_, _, g := t.Channel(c)
			gbps = append(gbps, g)
		}
		k, _, err := pathfeat.RateScale(gbps)
		if err != nil {
			return nil, fmt.Errorf("path %d: %w", p, err)
		}
		r.scale[i] = k
		if _, ok := r.params[shape{h, k}]; !ok {
			vec := cfg.Normalized(k).Vector()
			pp, err := features.ParamsFor(r.def, h, true, 1, vec[:])
			r.params[shape{h, k}] = hostParams{pp, vec, err}
		}
	}
	r.workers = opt.Workers
	if r.workers <= 0 {
		r.workers = runtime.NumCPU()
	}
	// a batch of 64 paths runs the CPU kernels near their best; a shared
	// device (a GPU) takes what it can, as long as every worker gets work
	r.batch = opt.Batch
	if r.batch <= 0 {
		r.batch = 64
		if est != nil && est.Shared() {
			r.batch = max(64, min(est.MaxBatch(), (len(paths)+r.workers-1)/r.workers))
		}
	}
	if est != nil {
		r.batch = min(r.batch, est.MaxBatch())
	}
	r.workers = max(1, min(r.workers, (len(paths)+r.batch-1)/r.batch))
	return r, nil
}

// run estimates every chunk and hands each to commit in path order (commit
// runs on one goroutine at a time).
// With keep, committed chunks stay (the paths' estimates point into them);
// otherwise their memory serves later chunks.
func (r *runner) run(commit func(*chunk) error, keep bool) error {
	nch := (len(r.paths) + r.batch - 1) / r.batch
	var (
		mu        sync.Mutex             // guards everything below
		commitErr error                  // commit failed: nothing more is committed
		done      = make(map[int]*chunk) // finished, not yet committed
		cursor    int                    // the next chunk to commit
		free      []*chunk               // committed chunks whose memory can be reused
		progress  int
	)
	// finish queues chunk c and commits every chunk now in order
	finish := func(c int, ch *chunk) error {
		mu.Lock()
		defer mu.Unlock()
		done[c] = ch
		for commitErr == nil {
			ch, ok := done[cursor]
			if !ok {
				break
			}
			delete(done, cursor)
			cursor++
			if commitErr = commit(ch); commitErr != nil {
				break
			}
			if !keep {
				free = append(free, ch)
			}
		}
		return commitErr
	}
	newChunk := func(lo, hi int) *chunk {
		mu.Lock()
		var ch *chunk
		if n := len(free); n > 0 {
			ch, free = free[n-1], free[:n-1]
		}
		mu.Unlock()
		if ch == nil {
			ch = &chunk{flowsim: make([]percentiles, r.batch), remap: make([]pathfeat.Remap, r.batch), scaled: make([]bool, r.batch)}
			if r.est != nil {
				ch.model = make([]percentiles, r.batch)
			}
		}
		ch.lo, ch.hi = lo, hi
		clear(ch.scaled)
		return ch
	}
	onPath := func() {
		if r.opt.Progress == nil {
			return
		}
		mu.Lock()
		progress++
		r.opt.Progress(progress, len(r.paths))
		mu.Unlock()
	}

	// estimators: one per worker on the CPU, else one shared
	ests := make([]*model.Estimator, r.workers)
	var shared sync.Mutex
	if r.est != nil {
		reps, err := r.est.Replicas(r.workers)
		if err != nil {
			return fmt.Errorf("model: %w", err)
		}
		copy(ests, reps)
	}

	// one worker's buffers per goroutine, made on its first chunk
	wks := make([]*worker, r.workers)
	defer func() {
		for _, wk := range wks {
			if wk != nil {
				wk.close()
			}
		}
	}()
	return parallel.For(nch, r.workers, func(wi, c int) error {
		if wks[wi] == nil {
			wk, err := newWorker()
			if err != nil {
				return err
			}
			wks[wi] = wk
		}
		wk, est, lock := wks[wi], ests[wi], false
		if est == nil && r.est != nil {
			est, lock = r.est, true
		}
		ch := newChunk(c*r.batch, min((c+1)*r.batch, len(r.paths)))
		if err := r.build(wk, ch, onPath); err != nil {
			return err
		}
		if est != nil {
			if lock {
				shared.Lock()
			}
			err := wk.predict(est, ch)
			if lock {
				shared.Unlock()
			}
			if err != nil {
				return err
			}
		}
		return finish(c, ch)
	})
}

// worker holds one goroutine's buffers: the path builder, the scenario and
// path it fills, and the chunk's model batch.
type worker struct {
	params map[fgShape][features.NumParams]float64 // blocks by foreground flows
	b      *pathfeat.Builder
	sc     decompose.Scenario
	p      pathfeat.Path
	rows   []int32
	feat   []float32
	empty  []uint8
	out    []float32
}

func newWorker() (*worker, error) {
	b, err := pathfeat.NewBuilder()
	if err != nil {
		return nil, err
	}
	return &worker{b: b, params: map[fgShape][features.NumParams]float64{}}, nil
}

func (wk *worker) close() { wk.b.Close() }

// build builds the chunk's paths into the worker's batch.
func (r *runner) build(wk *worker, ch *chunk, onPath func()) error {
	rows := 0
	for _, p := range r.paths[ch.lo:ch.hi] {
		rows += len(r.d.PathChannels(p)) + 1
	}
	wk.feat = grow(wk.feat, rows*features.RowWidth)
	wk.empty = grow(wk.empty, rows*features.NumInputBuckets)
	wk.rows = wk.rows[:0]
	fo, eo := 0, 0
	for i := ch.lo; i < ch.hi; i++ {
		p := r.paths[i]
		if err := r.d.ScenarioInto(p, &wk.sc); err != nil {
			return err
		}
		h := wk.sc.Hosts
		sh := shape{h, r.scale[i]}
		hp := r.params[sh]
		if hp.err != nil {
			return fmt.Errorf("path %d (%d hosts): %w", p, h, hp.err)
		}
		if features.ReadsForeground(r.def) {
			k := fgShape{sh, len(r.d.Foreground(p))}
			pp, ok := wk.params[k]
			if !ok {
				var err error
				if pp, err = features.ParamsFor(r.def, h, true, k.fg, hp.vec[:]); err != nil {
					return fmt.Errorf("path %d (%d hosts): %w", p, h, err)
				}
				wk.params[k] = pp
			}
			hp.p = pp
		}
		// the feature map goes straight into the batch
		nf, ne := h*features.RowWidth, h*features.NumInputBuckets
		wk.p.Input.Res = wk.feat[fo : fo+nf : fo+nf]
		wk.p.Input.Empty = wk.empty[eo : eo+ne : eo+ne]
		if err := wk.b.Build(&wk.sc, hp.p, &wk.p); err != nil {
			return err
		}
		fo, eo = fo+nf, eo+ne
		wk.rows = append(wk.rows, int32(h))
		res := &r.res[i]
		res.Flows = wk.p.Flows
		if wk.p.Scale != 1 {
			ch.remap[i-ch.lo], ch.scaled[i-ch.lo] = wk.p.Remap, true
		}
		ch.flowsim[i-ch.lo] = wk.p.Flowsim
		if r.opt.PerFlow {
			res.FlowIDs = make([]int32, len(wk.p.Foreground))
			for j, k := range wk.p.Foreground {
				res.FlowIDs[j] = wk.sc.Flow[k]
			}
			res.FlowsimSlowdown = append([]float64(nil), wk.p.FGSlowdown...)
			res.Isolated = append([]bool(nil), wk.p.FGIsolated...)
		}
		onPath()
	}
	return nil
}

// predict runs the model on the worker's batch into the chunk.
func (wk *worker) predict(est *model.Estimator, ch *chunk) error {
	const per = aggregate.NumBuckets * aggregate.NumPercentiles
	if n := est.Checkpoint().Config.OutDim; n != per {
		return fmt.Errorf("model: %d outputs per path, want %d", n, per)
	}
	n := ch.hi - ch.lo
	wk.out = grow(wk.out, n*per)
	if err := est.PredictBatch(wk.rows, wk.feat, wk.empty, wk.out); err != nil {
		return fmt.Errorf("model: paths %d..%d: %w", ch.lo, ch.hi-1, err)
	}
	for j := range n {
		m := &ch.model[j]
		for k, v := range wk.out[j*per : (j+1)*per] { // valid distributions (model.Estimator.PredictBatch)
			m[k/aggregate.NumPercentiles][k%aggregate.NumPercentiles] = float64(v)
		}
		if ch.scaled[j] {
			pathfeat.RemapModel(&ch.remap[j], m)
		}
	}
	return nil
}

// grow returns s resliced to n values, reallocated only when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

package fabricgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/internal/progress"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/decompose"
	"github.com/m4sim/m4/pipeline/eval"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/flowsim"
	"github.com/m4sim/m4/pipeline/infer"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/workload"
)

// ManifestName is the file in the output folder that records the spec (less
// its workload range): a later run into the folder must match it.
const ManifestName = "fabricgen-spec.json"

// WorkloadsDir holds one summary per finished workload, wl{W}.json.
const WorkloadsDir = "workloads"

// Options control a run.
type Options struct {
	Out       string
	Task      datagen.Task
	Workers   int    // workloads made at once (<= 0: every core)
	MaxEvents uint64 // stop a workload's packet-level run after this many events (0: no limit)
	Progress  io.Writer
	Log       *slog.Logger
}

// Summary is what DIR/workloads/wl{W}.json records of a finished workload.
type Summary struct {
	W          int             `json:"workload"`
	Seed       uint64          `json:"seed"`
	Spec       *workload.Spec  `json:"spec"` // m4 workload's spec of it
	Config     features.Config `json:"config"`
	Flows      int             `json:"flows"`
	Paths      int             `json:"paths"`      // in the decomposition
	Draws      int             `json:"draws"`      // path draws
	Shards     []string        `json:"shards"`     // the folders written, one per distinct path drawn
	Foreground int             `json:"foreground"` // foreground flows over those paths
	Events     uint64          `json:"truth_events"`
	TruthSec   float64         `json:"truth_seconds"`
	Seconds    float64         `json:"seconds"`
	// Unusable says why the workload gave no shards: its packet-level run
	// left flows unfinished (drops without PFC; the fork has no
	// retransmission timeout, so such flows never finish and have no FCT).
	Unusable string `json:"unusable,omitempty"`
}

// PathInfo is what a shard's path.json records: where it comes from.
type PathInfo struct {
	W          int     `json:"workload"`
	Path       int     `json:"path"`  // index in the workload's decomposition
	Draws      int     `json:"draws"` // times drawn
	Channels   []int32 `json:"channels"`
	Foreground int     `json:"foreground"` // the path's own flows
	// flow_ids.npy beside it holds the workload flow behind each flow of
	// the parking lot.
}

// Failure is a workload that could not be made.
type Failure struct {
	W    int
	Seed uint64
	Err  error
}

func (f Failure) Error() string { return fmt.Sprintf("workload %d (seed %d): %v", f.W, f.Seed, f.Err) }

// Report summarises a run.
type Report struct {
	Task                  datagen.Task
	Total, Mine, Skipped  int
	Done                  int
	Unusable              int // of Done, workloads whose flows did not all finish: no shards
	Failed                []Failure
	Shards, Flows         int
	Elapsed, Busy, TruthT time.Duration
}

type manifest struct {
	Spec *Spec `json:"spec"`
}

func checkManifest(out string, spec *Spec) error {
	content := *spec
	content.Workloads = datagen.ShardRange{}
	b, err := json.MarshalIndent(manifest{Spec: &content}, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	path := filepath.Join(out, ManifestName)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !bytes.Equal(old, b) {
			return fmt.Errorf("%s: holds shards of another spec (see %s); use another --out, or the same spec", out, path)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return atomicfile.WriteBytes(path, b)
	default:
		return err
	}
}

func summaryPath(out string, w int) string {
	return filepath.Join(out, WorkloadsDir, fmt.Sprintf("wl%d.json", w))
}

// Run makes the task's workloads of spec under o.Out with a pool of
// workers; a finished workload is skipped, a failed one reported (with its
// seed) without stopping the others.
func Run(ctx context.Context, spec *Spec, o Options) (*Report, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if o.Task.Count < 1 {
		o.Task = datagen.Whole()
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(filepath.Join(o.Out, WorkloadsDir), 0o755); err != nil {
		return nil, err
	}
	if err := checkManifest(o.Out, spec); err != nil {
		return nil, err
	}
	total := spec.Workloads.Count
	r := &Report{Task: o.Task, Total: total}
	var todo []int
	for i := 0; i < total; i++ {
		if !o.Task.Owns(i, total) {
			continue
		}
		r.Mine++
		w := spec.Workloads.First + i
		if _, err := os.Stat(summaryPath(o.Out, w)); err == nil {
			r.Skipped++
			continue
		}
		todo = append(todo, w)
	}
	log.Info("fabricgen plan", "task", o.Task.String(), "workloads", total, "mine", r.Mine, "finished_before", r.Skipped,
		"to_make", len(todo), "workers", o.Workers)
	var bar progress.Reporter
	if o.Progress != nil && len(todo) > 0 {
		bar = progress.New(o.Progress, len(todo), progress.Options{Desc: fmt.Sprintf("datagen --from-workload %s", o.Task),
			Unit: "workloads", Every: 30 * time.Second})
	}
	start := time.Now()
	type result struct {
		w    int
		sum  *Summary
		err  error
		busy time.Duration
	}
	jobs := make(chan int)
	results := make(chan result)
	done := make(chan struct{})
	for k := 0; k < o.Workers; k++ {
		go func() {
			for w := range jobs {
				t0 := time.Now()
				sum, err := makeWorkload(spec, w, o)
				results <- result{w, sum, err, time.Since(t0)}
			}
			done <- struct{}{}
		}()
	}
	go func() {
		defer close(jobs)
		for _, w := range todo {
			select {
			case jobs <- w:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		for k := 0; k < o.Workers; k++ {
			<-done
		}
		close(results)
	}()
	for res := range results {
		r.Busy += res.busy
		if res.err != nil {
			f := Failure{W: res.w, Seed: spec.seedOf(res.w), Err: res.err}
			r.Failed = append(r.Failed, f)
			log.Error("workload failed", "workload", res.w, "seed", f.Seed, "err", res.err)
		} else {
			r.Done++
			if res.sum.Unusable != "" {
				r.Unusable++
				log.Warn("workload unusable", "workload", res.w, "why", res.sum.Unusable)
			}
			r.Shards += len(res.sum.Shards)
			r.Flows += res.sum.Flows
			r.TruthT += time.Duration(res.sum.TruthSec * float64(time.Second))
			log.Info("workload", "workload", res.w, "flows", res.sum.Flows, "paths", res.sum.Paths, "shards", len(res.sum.Shards),
				"seconds", res.sum.Seconds)
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	r.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("datagen stopped: %w (finished workloads are kept; run again to resume)", err)
	}
	return r, nil
}

// makeWorkload makes workload w's shards, or fails leaving nothing of it.
func makeWorkload(spec *Spec, w int, o Options) (sum *Summary, err error) {
	t0 := time.Now()
	// leftovers of a killed run: partial folders, and shards moved into
	// place before the summary was written
	for _, pat := range []string{fmt.Sprintf(".partial-wl%d-*", w), fmt.Sprintf("shard%d_path*", w)} {
		stale, _ := filepath.Glob(filepath.Join(o.Out, pat))
		for _, d := range stale {
			if err := os.RemoveAll(d); err != nil {
				return nil, fmt.Errorf("removing leftovers of an earlier run: %w", err)
			}
		}
	}
	tmp, err := os.MkdirTemp(o.Out, fmt.Sprintf(".partial-wl%d-", w))
	if err != nil {
		return nil, err
	}
	var moved []string
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		if err != nil {
			for _, d := range moved {
				os.RemoveAll(d)
			}
		}
		os.RemoveAll(tmp)
	}()
	sum, shards, err := Build(spec, w, o.MaxEvents, tmp)
	if err != nil {
		return nil, err
	}
	for _, name := range shards {
		dst := filepath.Join(o.Out, name)
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return nil, err
		}
		moved = append(moved, dst)
	}
	sum.Seconds = time.Since(t0).Seconds()
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(summaryPath(o.Out, w), append(b, '\n')); err != nil {
		return nil, err
	}
	return sum, nil
}

// Build draws workload w of spec, simulates it, and writes its drawn paths
// as shard folders under dir; it returns the summary and the folder names.
func Build(spec *Spec, w int, maxEvents uint64, dir string) (*Summary, []string, error) {
	dr, err := spec.Draw(w)
	if err != nil {
		return nil, nil, err
	}
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	tr, err := eval.GroundTruth(wl, dr.Config, maxEvents)
	truthSec := time.Since(t0).Seconds()
	if unfinishedFlows(err) {
		// drops without PFC: the fork's flows never finish; nothing to learn
		return &Summary{W: w, Seed: dr.Seed, Spec: dr.Spec, Config: dr.Config, Flows: wl.Flows.Len(), Draws: spec.Paths,
			TruthSec: truthSec, Unusable: err.Error()}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for i, f := range tr.FCTNs {
		if f < 0 {
			return nil, nil, fmt.Errorf("ground truth: flow %d did not finish", i)
		}
	}
	d, err := decompose.New(wl.Routing, &wl.Flows)
	if err != nil {
		return nil, nil, err
	}
	paths, draws := d.Sample(spec.Paths, rand.New(rand.NewPCG(dr.Seed, 0x9a7)))
	sum := &Summary{W: w, Seed: dr.Seed, Spec: dr.Spec, Config: dr.Config, Flows: wl.Flows.Len(), Paths: d.NumPaths(),
		Draws: spec.Paths, Events: tr.Events, TruthSec: truthSec}
	for k, p := range paths {
		name, fg, err := writePath(dir, d, p, draws[k], w, dr.Config, tr)
		if err != nil {
			return nil, nil, fmt.Errorf("workload %d, path %d: %w", w, p, err)
		}
		sum.Shards = append(sum.Shards, name)
		sum.Foreground += fg
	}
	return sum, sum.Shards, nil
}

// unfinishedFlows tells a packet-level run that ended with flows unfinished
// at the stop time (pktsim's budget error of that kind) from other errors.
func unfinishedFlows(err error) bool {
	return err != nil && errors.Is(err, bindings.ErrBudget) && strings.Contains(err.Error(), "did not finish by the stop time")
}

// writePath writes path p of d as a shard folder under dir.
func writePath(dir string, d *decompose.Decomposition, p, draws, w int, cfg features.Config, tr *eval.Truth) (string, int, error) {
	sc, err := d.Scenario(p)
	if err != nil {
		return "", 0, err
	}
	pc, err := infer.PathConfig(sc)
	if err != nil {
		return "", 0, err
	}
	n := sc.Len()
	name := fmt.Sprintf("shard%d_path%d_nflows%d_nhosts%d_lr10Gbps", w, p, n, sc.Hosts)
	sc.Path.Name, sc.Path.ArrivalFile, sc.Path.SizeFile, sc.Path.HostFile = name, name, name, name
	fs, err := flowsim.RunConfig(sc.Path, pc)
	if err != nil {
		return "", 0, err
	}
	gt := &datagen.GroundTruth{FCTNs: make([]float64, n), IdealNs: make([]float64, n), Known: sc.Foreground,
		Log: fmt.Sprintf("m4 pktsim on the whole workload %d (%d flows, %d events); this path's foreground flows' results\n",
			w, len(tr.FCTNs), tr.Events)}
	fg := 0
	ids := make([]int64, n)
	for i, f := range sc.Flow {
		ids[i] = int64(f)
		if sc.Foreground[i] {
			gt.FCTNs[i], gt.IdealNs[i] = float64(tr.FCTNs[f]), float64(tr.IdealNs[f])
			fg++
		}
	}
	info, err := json.MarshalIndent(PathInfo{W: w, Path: p, Draws: draws, Channels: sc.Channels, Foreground: fg}, "", "  ")
	if err != nil {
		return "", 0, err
	}
	c := cfg
	c.Sample = 0
	out := filepath.Join(dir, name)
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", 0, err
	}
	sh := &datagen.Shard{Path: sc.Path, Config: c, NS3: tr.Config, Flowsim: fs.FCTNs, Truth: gt,
		Extra: map[string][]byte{"path.json": append(info, '\n')}}
	if err := datagen.WriteShard(out, sh); err != nil {
		return "", 0, err
	}
	if err := npyfile.Write(filepath.Join(out, "flow_ids.npy"), ids, nil); err != nil {
		return "", 0, err
	}
	return name, fg, nil
}

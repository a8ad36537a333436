package netdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/datagen"
	"github.com/m4sim/m4/pipeline/dyntrace"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/truth"
	"github.com/m4sim/m4/pipeline/workload"
)

// ManifestName is the file in the output folder that records the spec (less
// its workload range): a later run into the folder must match it.
const ManifestName = "fabricgen-spec.json" // the data format keeps the package's first name

// Files of a workload folder, DIR/wl{W}: SummaryFile (written last: a
// folder without it is unfinished) and TruthFile, the workload's flows and
// their packet-level outcome.
const (
	SummaryFile = "workload.json"
	TruthFile   = "truth.npz"
)

// Options control a run.
type Options struct {
	Out       string
	Task      datagen.Task
	Workers   int    // workloads made at once (<= 0: every core)
	MaxEvents uint64 // stop a workload's packet-level run after this many events (0: no limit)
	// Dynamics also writes each workload's dynamics trace (dyntrace.FileName:
	// the training data of the flow-level dynamics model). A folder of
	// dynamics data refuses runs without it, and the other way round.
	Dynamics bool
	Progress io.Writer
	Log      *slog.Logger
}

// Summary is what a workload folder's workload.json records.
type Summary struct {
	W        int             `json:"workload"`
	Seed     uint64          `json:"seed"`
	Spec     *workload.Spec  `json:"spec"` // m4 workload's spec of it
	Config   features.Config `json:"config"`
	Flows    int             `json:"flows"`
	Events   uint64          `json:"truth_events"`
	TruthSec float64         `json:"truth_seconds"`
	Seconds  float64         `json:"seconds"`
	// DynamicsEvents and DynamicsBytes: the dynamics trace's events and its
	// file's size (with Options.Dynamics).
	DynamicsEvents int   `json:"dynamics_events,omitempty"`
	DynamicsBytes  int64 `json:"dynamics_bytes,omitempty"`
	// Unusable says why the workload has no truth: its packet-level run
	// left flows unfinished (drops without PFC; the fork has no
	// retransmission timeout, so such flows never finish and have no FCT).
	Unusable string `json:"unusable,omitempty"`
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
	Unusable              int // of Done, workloads whose flows did not all finish: no truth
	Failed                []Failure
	Flows                 int
	Elapsed, Busy, TruthT time.Duration
}

type manifest struct {
	Spec     *Spec `json:"spec"`
	Dynamics bool  `json:"dynamics,omitempty"`
}

func checkManifest(out string, spec *Spec, dynamics bool) error {
	content := *spec
	content.Workloads = datagen.ShardRange{}
	return datagen.KeepManifest(filepath.Join(out, ManifestName), manifest{Spec: &content, Dynamics: dynamics}, "shards of another spec")
}

// WorkloadDir is workload w's folder under out.
func WorkloadDir(out string, w int) string { return filepath.Join(out, fmt.Sprintf("wl%d", w)) }

func summaryPath(out string, w int) string { return filepath.Join(WorkloadDir(out, w), SummaryFile) }

// Run makes the task's workloads of spec under o.Out with a pool of
// workers (datagen.RunBatch); a finished workload is skipped, a failed one
// reported (with its seed) without stopping the others.
func Run(ctx context.Context, spec *Spec, o Options) (*Report, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	type result struct {
		sum *Summary
		err error
	}
	mode := "--from-workload"
	if o.Dynamics {
		mode = "--dynamics"
	}
	r := &Report{}
	b := &datagen.Batch[result]{Name: "netdata", Items: "workloads", Out: o.Out, Task: o.Task, Workers: o.Workers, Log: o.Log,
		Progress: o.Progress, Desc: "datagen " + mode, Unit: "workloads", Total: spec.Workloads.Count}
	b.Manifest = func() error { return checkManifest(o.Out, spec, o.Dynamics) }
	b.Finished = func(i int) (bool, error) {
		_, err := os.Stat(summaryPath(o.Out, spec.Workloads.First+i))
		return err == nil, nil
	}
	b.Make = func(i int) result {
		sum, err := makeWorkload(spec, spec.Workloads.First+i, o)
		return result{sum, err}
	}
	b.Collect = func(i int, res result, busy time.Duration) {
		w := spec.Workloads.First + i
		r.Busy += busy
		if res.err != nil {
			f := Failure{W: w, Seed: spec.seedOf(w), Err: res.err}
			r.Failed = append(r.Failed, f)
			b.Log.Error("workload failed", "workload", w, "seed", f.Seed, "err", res.err)
			return
		}
		r.Done++
		if res.sum.Unusable != "" {
			r.Unusable++
			b.Log.Warn("workload unusable", "workload", w, "why", res.sum.Unusable)
		}
		r.Flows += res.sum.Flows
		r.TruthT += time.Duration(res.sum.TruthSec * float64(time.Second))
		b.Log.Info("workload", "workload", w, "flows", res.sum.Flows, "seconds", res.sum.Seconds)
	}
	br, err := datagen.RunBatch(ctx, b)
	if br == nil {
		return nil, err
	}
	r.Task, r.Total, r.Mine, r.Skipped, r.Elapsed = b.Task, br.Total, br.Mine, br.Skipped, br.Elapsed
	return r, err
}

// makeWorkload makes workload w's folder, or fails leaving nothing of it.
func makeWorkload(spec *Spec, w int, o Options) (sum *Summary, err error) {
	t0 := time.Now()
	dst := WorkloadDir(o.Out, w)
	// leftovers of a killed run: partial folders, a folder without summary
	stale, _ := filepath.Glob(filepath.Join(o.Out, fmt.Sprintf(".partial-wl%d-*", w)))
	for _, d := range append(stale, dst) {
		if err := os.RemoveAll(d); err != nil {
			return nil, fmt.Errorf("removing leftovers of an earlier run: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(o.Out, fmt.Sprintf(".partial-wl%d-", w))
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		os.RemoveAll(tmp)
	}()
	if sum, err = Build(spec, w, o, tmp, t0); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, err
	}
	return sum, nil
}

// Build draws workload w of spec, simulates it packet by packet on its whole
// topology, and writes its folder into dir: TruthFile (and with o.Dynamics
// dyntrace.FileName), then SummaryFile. Of o it uses MaxEvents and
// Dynamics; t0 is when the work on it began (for the summary's seconds).
func Build(spec *Spec, w int, o Options, dir string, t0 time.Time) (*Summary, error) {
	dr, err := spec.Draw(w)
	if err != nil {
		return nil, err
	}
	wl, err := workload.Generate(dr.Spec)
	if err != nil {
		return nil, err
	}
	sum := &Summary{W: w, Seed: dr.Seed, Spec: dr.Spec, Config: dr.Config, Flows: wl.Flows.Len()}
	t1 := time.Now()
	tr, err := truth.Simulate(wl, dr.Config, truth.Options{MaxEvents: o.MaxEvents, Dynamics: o.Dynamics})
	sum.TruthSec = time.Since(t1).Seconds()
	switch {
	case unfinishedFlows(err):
		// drops without PFC: the fork's flows never finish; nothing to learn
		sum.Unusable = err.Error()
	case err != nil:
		return nil, err
	default:
		for i, f := range tr.FCTNs {
			if f < 0 {
				return nil, fmt.Errorf("ground truth: flow %d did not finish", i)
			}
		}
		sum.Events = tr.Events
		if err := WriteTruth(filepath.Join(dir, TruthFile), &wl.Flows, tr.FCTNs, tr.IdealNs); err != nil {
			return nil, err
		}
		if o.Dynamics {
			if err := writeDynamics(filepath.Join(dir, dyntrace.FileName), &wl.Flows, tr, sum); err != nil {
				return nil, err
			}
		}
	}
	sum.Seconds = time.Since(t0).Seconds()
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, SummaryFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return sum, nil
}

// unfinishedFlows tells a packet-level run that ended with flows unfinished
// at the stop time (pktsim's budget error of that kind) from other errors.
func unfinishedFlows(err error) bool {
	return err != nil && errors.Is(err, bindings.ErrBudget) && strings.Contains(err.Error(), "did not finish by the stop time")
}

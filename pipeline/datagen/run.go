package datagen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/m4sim/m4/pipeline/atomicfile"
	"github.com/m4sim/m4/pipeline/flowsim"
)

// ManifestName is the file in the output folder that records what defines a
// scenario's content: the spec (every default filled in) less its shards
// range and host list, and the ground truth. A later run into the folder must
// match it, so shards of two different specs never mix; it may extend the
// data set with more draws or path lengths.
const ManifestName = "datagen-spec.json"

// partialPrefix starts the name of a shard folder under construction. Such a
// folder is renamed into place only when every file is written; a run that
// finds one of its own (left by a killed run) removes it.
const partialPrefix = ".partial-"

// Options control a datagen run.
type Options struct {
	Out     string
	Task    Task
	Workers int // <= 0: every core
	// Sim gives the ground truth. Nil makes scenarios to estimate: every
	// file except fid/fct/fct_i and pdrop, feature maps without a target.
	Sim Simulator
	// Only restricts the run to these scenario folder names (nil: all).
	Only []string
	// Progress receives a progress bar with ETA (nil: none).
	Progress io.Writer
	Log      *slog.Logger
}

// Failure is a scenario that could not be made.
type Failure struct {
	Item Item
	Name string
	Seed uint64
	Err  error
}

func (f Failure) Error() string {
	return fmt.Sprintf("%s (shard %d, %d hosts, seed %d): %v", f.Name, f.Item.Shard, f.Item.Hosts, f.Seed, f.Err)
}

// Report summarises a run.
type Report struct {
	Task      Task
	Total     int // scenarios in the spec
	Mine      int // of them, this task's
	Skipped   int // already finished before the run
	Done      int // made by this run
	Failed    []Failure
	Elapsed   time.Duration
	Workers   int
	BusyTime  time.Duration // summed over workers: sampling, flowsim, simulator, writing
	SimTime   time.Duration // of BusyTime, in the packet-level simulator
	FlowsMade int
}

// ShardsPerCoreHour is the throughput of the run: scenarios made per hour of
// one core's busy time.
func (r *Report) ShardsPerCoreHour() float64 {
	if r.BusyTime <= 0 {
		return 0
	}
	return float64(r.Done) / r.BusyTime.Hours()
}

// manifest is what ManifestName holds.
type manifest struct {
	Spec  *Spec  `json:"spec"`
	Truth string `json:"ground_truth"`
}

func truthName(sim Simulator) string {
	if sim == nil {
		return "none"
	}
	return sim.Name()
}

// checkManifest writes the manifest, or checks that the one present matches.
func checkManifest(out string, spec *Spec, truth string) error {
	content := *spec
	content.Shards, content.Hosts = ShardRange{}, nil
	return KeepManifest(filepath.Join(out, ManifestName), manifest{Spec: &content, Truth: truth}, "shards of another spec or ground truth")
}

// KeepManifest makes a data folder refuse to mix runs: it writes v as
// indented JSON at path, or, when path exists, checks that it holds exactly
// that; otherwise the error says the folder holds what (e.g. "shards of
// another spec").
func KeepManifest(path string, v any, what string) error {
	b, err := jsonIndent(v)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !bytes.Equal(old, b) {
			return fmt.Errorf("%s: holds %s (see %s); use another --out, or the same spec", filepath.Dir(path), what, path)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return atomicfile.WriteBytes(path, b)
	default:
		return err
	}
}

// Run makes the task's scenarios of spec under o.Out, with a pool of
// workers (RunBatch). A scenario whose folder exists is finished and skipped;
// every other one is built in a partial folder and renamed into place when
// complete. A scenario that fails (an error or a panic) is reported with its
// seed and does not stop the others. Run returns an error when the run could
// not start (or ctx was cancelled); failed scenarios are in the report.
func Run(ctx context.Context, spec *Spec, o Options) (*Report, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	var want []bool // --only: the scenarios named (nil: all)
	if len(o.Only) > 0 {
		index := map[string]int{}
		for i := range spec.Scenarios() {
			index[spec.Name(spec.Item(i))] = i
		}
		want = make([]bool, spec.Scenarios())
		for _, name := range o.Only {
			i, ok := index[name]
			if !ok {
				return nil, fmt.Errorf("--only %s: not a scenario of this spec", name)
			}
			want[i] = true
		}
	}
	type result struct {
		fail       *Failure
		sim        time.Duration
		flows      int
		finishedBy bool // another task finished it first
	}
	r := &Report{}
	b := &Batch[result]{Name: "datagen", Items: "scenarios", Out: o.Out, Task: o.Task, Workers: o.Workers, Log: o.Log,
		Progress: o.Progress, Desc: "datagen", Unit: "shards", Total: spec.Scenarios(), PlanAttrs: []any{"ground_truth", truthName(o.Sim)}}
	b.Manifest = func() error { return checkManifest(o.Out, spec, truthName(o.Sim)) }
	if want != nil {
		b.Want = func(i int) bool { return want[i] }
	}
	b.Finished = func(i int) (bool, error) {
		name := spec.Name(spec.Item(i))
		// Leftovers of a killed run of this scenario.
		stale, _ := filepath.Glob(filepath.Join(o.Out, partialPrefix+name+"-*"))
		for _, d := range stale {
			if err := os.RemoveAll(d); err != nil {
				return false, fmt.Errorf("removing a half-written shard: %w", err)
			}
		}
		st, err := os.Stat(filepath.Join(o.Out, name))
		return err == nil && st.IsDir(), nil
	}
	b.Make = func(i int) result {
		it := spec.Item(i)
		simT, flows, elsewhere, err := makeOne(spec, it, o)
		res := result{sim: simT, flows: flows, finishedBy: elsewhere}
		if err != nil {
			res.fail = &Failure{Item: it, Name: spec.Name(it), Seed: spec.seedOf(it), Err: err}
		}
		return res
	}
	b.Collect = func(_ int, res result, busy time.Duration) {
		r.BusyTime += busy
		r.SimTime += res.sim
		switch {
		case res.fail != nil:
			r.Failed = append(r.Failed, *res.fail)
			b.Log.Error("scenario failed", "scenario", res.fail.Name, "seed", res.fail.Seed, "err", res.fail.Err)
		case res.finishedBy:
			r.Skipped++
		default:
			r.Done++
			r.FlowsMade += res.flows
		}
	}
	br, err := RunBatch(ctx, b)
	if br == nil {
		return nil, err
	}
	r.Task, r.Workers, r.Total, r.Mine, r.Elapsed = b.Task, b.Workers, br.Total, br.Mine, br.Elapsed
	r.Skipped += br.Skipped // and those finished by another task meanwhile
	return r, err
}

// makeOne makes one scenario in a partial folder and renames it into place.
// It reports the time spent in the simulator, the flows made, and whether the
// scenario had been finished by another task meanwhile.
func makeOne(spec *Spec, it Item, o Options) (sim time.Duration, flows int, elsewhere bool, err error) {
	name := spec.Name(it)
	tmp, err := os.MkdirTemp(o.Out, partialPrefix+name+"-")
	if err != nil {
		return 0, 0, false, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, firstLines(string(debug.Stack()), 12))
		}
		if err != nil || elsewhere {
			os.RemoveAll(tmp)
		}
	}()
	sc, err := spec.Sample(it)
	if err != nil {
		return 0, 0, false, err
	}
	p := sc.Traffic.Path
	est, err := flowsim.Run(p)
	if err != nil {
		return 0, 0, false, err
	}
	var gt *GroundTruth
	if o.Sim != nil {
		t0 := time.Now()
		gt, err = o.Sim.Simulate(p, sc.NS3)
		sim = time.Since(t0)
		if err != nil {
			return sim, 0, false, fmt.Errorf("%s: %w", o.Sim.Name(), err)
		}
	}
	if err := writeShard(tmp, sc, est.FCTNs, gt); err != nil {
		return sim, 0, false, err
	}
	if err := os.Rename(tmp, filepath.Join(o.Out, name)); err != nil {
		if st, serr := os.Stat(filepath.Join(o.Out, name)); serr == nil && st.IsDir() {
			return sim, 0, true, nil
		}
		return sim, 0, false, err
	}
	return sim, p.Len(), false, nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

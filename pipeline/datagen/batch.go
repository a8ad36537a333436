package datagen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/internal/progress"
)

// Batch is one run of a data generator over the items of its spec (datagen's
// scenarios, netdata's workloads): what differs between generators.
// RunBatch is the loop they share.
type Batch[R any] struct {
	Name  string // the generator: the plan is logged as Name+" plan"
	Items string // the plan's key for the spec's count of items ("scenarios")

	Out      string
	Task     Task         // Count < 1: Whole()
	Workers  int          // items made at once (<= 0: every core)
	Log      *slog.Logger // nil: none
	Progress io.Writer    // a bar, or a line every 30 s in a log (nil: none)
	Desc     string       // the bar's description, before the task ("datagen 3/16")
	Unit     string       // the bar's items ("shards"); "finished <Unit> are kept"

	Total int // items of the spec, numbered 0 .. Total-1
	// Manifest writes the output folder's manifest, or checks that the one
	// there matches (KeepManifest).
	Manifest func() error
	// Want, when set, leaves out the items it returns false for.
	Want func(i int) bool
	// Finished reports whether item i, the task's, was made by an earlier
	// run; it first removes what a killed run may have left of it.
	Finished func(i int) (bool, error)
	// Make makes item i on one of the workers. Collect gets its result and
	// the time Make took on RunBatch's goroutine, in the order they finish.
	Make    func(i int) R
	Collect func(i int, r R, busy time.Duration)
	// PlanAttrs are key-value pairs added to the plan's log line.
	PlanAttrs []any
}

// BatchReport is what RunBatch chose and how long the work took.
type BatchReport struct {
	Total   int // items of the spec
	Mine    int // of them, the task's (and wanted)
	Skipped int // of Mine, finished before the run
	Elapsed time.Duration
}

// RunBatch makes b's items on a pool of b.Workers workers: it fills in the
// defaults of b.Task, b.Workers and b.Log (so Make and Collect may use
// them), creates b.Out, keeps its manifest, chooses the task's unfinished
// items, logs the plan and then makes them with parallel.Each: a failure,
// which Collect records, stops nothing. It returns a nil report with the
// error when the run could not start, and the report with an error when ctx
// was cancelled.
func RunBatch[R any](ctx context.Context, b *Batch[R]) (*BatchReport, error) {
	if b.Task.Count < 1 {
		b.Task = Whole()
	}
	if b.Workers <= 0 {
		b.Workers = runtime.NumCPU()
	}
	if b.Log == nil {
		b.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return nil, err
	}
	if err := b.Manifest(); err != nil {
		return nil, err
	}
	r := &BatchReport{Total: b.Total}
	var todo []int
	for i := range b.Total {
		if b.Want != nil && !b.Want(i) || !b.Task.Owns(i, b.Total) {
			continue
		}
		r.Mine++
		done, err := b.Finished(i)
		if err != nil {
			return nil, err
		}
		if done {
			r.Skipped++
			continue
		}
		todo = append(todo, i)
	}
	b.Log.Info(b.Name+" plan", append([]any{"task", b.Task.String(), "split_from", b.Task.Source, b.Items, r.Total,
		"mine", r.Mine, "finished_before", r.Skipped, "to_make", len(todo), "workers", b.Workers}, b.PlanAttrs...)...)

	var bar progress.Reporter
	if b.Progress != nil && len(todo) > 0 {
		bar = progress.New(b.Progress, len(todo), progress.Options{Desc: fmt.Sprintf("%s %s", b.Desc, b.Task), Unit: b.Unit, Every: 30 * time.Second})
	}
	start := time.Now()
	type timed struct {
		r    R
		busy time.Duration
	}
	stopped := parallel.Each(ctx, len(todo), b.Workers, func(k int) timed {
		t0 := time.Now()
		res := b.Make(todo[k])
		return timed{res, time.Since(t0)}
	}, func(k int, t timed) {
		b.Collect(todo[k], t.r, t.busy)
		if bar != nil {
			bar.Add(1)
		}
	})
	if bar != nil {
		bar.Finish()
	}
	r.Elapsed = time.Since(start)
	if stopped != nil {
		return r, fmt.Errorf("datagen stopped: %w (finished %s are kept; run again to resume)", stopped, b.Unit)
	}
	return r, nil
}

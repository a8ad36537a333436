package pktsim

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/m4sim/m4/pipeline/aggregate"
	"github.com/m4sim/m4/pipeline/features"
)

// ForkRunConfig is the config file name that marks a fork run folder
// (as ../shared/reference/ns3-fabrics/fab* and fabric_gen.py write them).
const ForkRunConfig = "config.txt"

// CellPercentiles are the slowdown percentiles compared per cell.
var CellPercentiles = [3]float64{50, 90, 99}

// NumCellRows is the number of rows of cells: the output size buckets
// (features.OutputBucket) and all flows (row aggregate.NumBuckets).
const NumCellRows = aggregate.NumBuckets + 1

// RunReport compares pktsim with the fork on one fork run folder.
type RunReport struct {
	Dir     string
	CCMode  int
	Hosts   int
	Flows   int
	Exact   int // flows whose FCT equals the fork's to the ns
	IdealOK int // flows whose ideal FCT equals the fork's
	// RowFlows[b] counts the flows of row b (size bucket b, or all flows).
	RowFlows [NumCellRows]int
	// Ours[b][k] and Theirs[b][k] are percentile CellPercentiles[k] of
	// slowdown max(fct, ideal) / ideal in row b, by pktsim and by the fork
	// (numpy's default linear percentile); NaN for an empty row.
	Ours, Theirs [NumCellRows][3]float64
	Seconds      float64 // simulation wall time
	Events       uint64
	Err          error
}

// CellErr returns |ours/theirs - 1| of row b, percentile k (NaN when the
// row is empty).
func (r *RunReport) CellErr(b, k int) float64 { return math.Abs(r.Ours[b][k]/r.Theirs[b][k] - 1) }

// Worst returns the cell with the largest error and that error.
func (r *RunReport) Worst() (b, k int, err float64) {
	b, k, err = NumCellRows-1, 0, 0
	for i := 0; i < NumCellRows; i++ {
		for j := range CellPercentiles {
			if e := r.CellErr(i, j); e > err {
				b, k, err = i, j, e
			}
		}
	}
	return b, k, err
}

// Within counts the non-empty cells and those within tol of the fork's.
func (r *RunReport) Within(tol float64) (within, cells int) {
	for b := 0; b < NumCellRows; b++ {
		if r.RowFlows[b] == 0 {
			continue
		}
		for k := range CellPercentiles {
			cells++
			if r.CellErr(b, k) <= tol {
				within++
			}
		}
	}
	return within, cells
}

// CellName names a cell, e.g. "<1KB p99".
func CellName(b, k int) string {
	return fmt.Sprintf("%s p%g", aggregate.BucketName(b), CellPercentiles[k])
}

// FindRuns returns the fork run folders (holding config.txt, and no
// fat.npy: shard folders are FindShards') at dir itself, directly under
// it, or one level further down, sorted; none is not an error.
func FindRuns(dir string) ([]string, error) {
	return findDirs(dir, func(d string) bool {
		return fileExists(filepath.Join(d, ForkRunConfig)) && !fileExists(filepath.Join(d, "fat.npy"))
	})
}

// CompareRun simulates the fork run in dir (its config.txt and the files it
// names) and compares it with the fork's FCT output (FCT_OUTPUT_FILE).
func CompareRun(dir string, opt Options) *RunReport {
	rep := &RunReport{Dir: dir}
	run, err := LoadForkRun(filepath.Join(dir, ForkRunConfig), "", "")
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.CCMode = run.Config.CCMode
	rep.Hosts = len(run.Topology.Hosts())
	rep.Flows = run.Flows.Len()
	ref, err := ReadFCTFile(run.FCTFile, run.Flows)
	if err != nil {
		rep.Err = fmt.Errorf("%s: FCT_OUTPUT_FILE (the fork's output): %w", run.ConfigFile, err)
		return rep
	}
	t0 := time.Now()
	res, err := run.Run(opt)
	rep.Seconds = time.Since(t0).Seconds()
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Events = res.Stats.Events
	var ours, theirs [NumCellRows][]float64
	for i := range ref.FCTNs {
		if res.FCTNs[i] == ref.FCTNs[i] {
			rep.Exact++
		}
		if res.IdealNs[i] == ref.IdealNs[i] {
			rep.IdealOK++
		}
		o := float64(max(res.FCTNs[i], res.IdealNs[i])) / float64(res.IdealNs[i])
		t := ref.Slowdown(i)
		for _, b := range []int{features.OutputBucket(float64(run.Flows.SizeBytes[i])), aggregate.NumBuckets} {
			ours[b] = append(ours[b], o)
			theirs[b] = append(theirs[b], t)
		}
	}
	for b := range ours {
		rep.RowFlows[b] = len(ours[b])
		for k, p := range CellPercentiles {
			rep.Ours[b][k] = Percentile(ours[b], p)
			rep.Theirs[b][k] = Percentile(theirs[b], p)
		}
	}
	return rep
}

// ValidateRuns compares every fork run with pktsim on a pool of workers
// (0 = one per CPU); reports come back in dirs' order. progress, if not
// nil, is called after each run.
func ValidateRuns(dirs []string, workers int, opt Options, progress func(done, total int, r *RunReport)) []*RunReport {
	return pool(dirs, workers, func(d string) *RunReport { return CompareRun(d, opt) }, progress)
}

// WriteRunTable prints, per fork run, the share of flows whose FCT is the
// fork's exactly, how many cells (p50/p90/p99 of slowdown, per size bucket
// and overall) are within tol of the fork's and the worst cell; then each
// run's cells: pktsim / fork (relative error).
func WriteRunTable(w io.Writer, reps []*RunReport, tol float64) {
	fmt.Fprintf(w, "| run | CC | hosts | flows | exact FCTs | ideal FCTs equal | cells within %g%% | worst cell | worst error | pktsim s |\n", 100*tol)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	var failed []*RunReport
	for _, r := range reps {
		if r.Err != nil {
			failed = append(failed, r)
			continue
		}
		in, cells := r.Within(tol)
		b, k, e := r.Worst()
		worst := "-"
		if e > 0 {
			worst = CellName(b, k)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.2f%% | %.2f%% | %d/%d | %s | %.2f%% | %.1f |\n", r.Dir, CCName(r.CCMode), r.Hosts, r.Flows,
			100*float64(r.Exact)/float64(r.Flows), 100*float64(r.IdealOK)/float64(r.Flows), in, cells, worst, 100*e, r.Seconds)
	}
	for _, r := range reps {
		if r.Err != nil {
			continue
		}
		fmt.Fprintf(w, "\n%s: slowdown, pktsim / ns-3 (relative error)\n\n", r.Dir)
		fmt.Fprintln(w, "| bucket | flows | p50 | p90 | p99 |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for b := 0; b < NumCellRows; b++ {
			fmt.Fprintf(w, "| %s | %d |", aggregate.BucketName(b), r.RowFlows[b])
			for k := range CellPercentiles {
				if r.RowFlows[b] == 0 {
					fmt.Fprint(w, " - |")
					continue
				}
				fmt.Fprintf(w, " %.4f / %.4f (%.2f%%) |", r.Ours[b][k], r.Theirs[b][k], 100*r.CellErr(b, k))
			}
			fmt.Fprintln(w)
		}
	}
	for _, r := range failed {
		fmt.Fprintf(w, "\nfailed: %s: %v\n", r.Dir, r.Err)
	}
}

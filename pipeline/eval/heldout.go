package eval

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
)

// Shipped names the checkpoint m4 ships for workloads of an algorithm:
// how m4 eval names it in eval.json's "checkpoint" and the file's name and
// bytes.
type Shipped func(alg cc.CC) (desc, file string, data []byte)

// HeldOut builds the table of ckpts.HeldOutTable from m4 eval's eval.json
// files (each workload of each file is one estimate of a run; the same run
// may come in several files, e.g. one per sample seed). Every workload must
// have been estimated by the checkpoint shipped for its algorithm: the
// table speaks for those files, whose SHA-256 it records. Per algorithm,
// size bucket and quantile it gives the median signed relative error, the
// median and 90th percentile (nearest rank) of its absolute value, and the
// share within 10%; with bands > 1, the same per load band too: each
// algorithm's runs ordered by their busiest link's load (eval.json's
// busiest_load) and cut into bands contiguous groups of about equal size.
func HeldOut(files []string, shipped Shipped, source string, bands int) (*ckpts.HeldOutTable, error) {
	if bands < 1 {
		return nil, fmt.Errorf("held-out table: %d load bands (want 1 or more)", bands)
	}
	type estimate struct {
		run  string
		errs map[cellKey]float64
	}
	type acc struct {
		load  map[string]float64 // per run
		ests  []estimate
		order []cellKey
	}
	per := map[cc.CC]*acc{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Workloads []caseJSON `json:"workloads"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if len(doc.Workloads) == 0 {
			return nil, fmt.Errorf("%s: workloads: none (is it m4 eval's eval.json?)", f)
		}
		for i, w := range doc.Workloads {
			alg, err := cc.Parse(w.CC)
			if err != nil {
				return nil, fmt.Errorf("%s: workloads[%d].cc: %w", f, i, err)
			}
			if desc, _, _ := shipped(alg); w.Checkpoint != desc {
				return nil, fmt.Errorf("%s: workloads[%d].checkpoint: %q estimated %s, not %s: the table speaks for the shipped checkpoints only (run m4 eval without --ckpt, with this binary)",
					f, i, w.Checkpoint, w.Workload, desc)
			}
			if bands > 1 && !(w.BusiestLoad > 0) {
				return nil, fmt.Errorf("%s: workloads[%d].busiest_load: %g: load bands need each run's busiest link load (an eval.json of an older m4 eval has none: run it again)",
					f, i, w.BusiestLoad)
			}
			a := per[alg]
			if a == nil {
				a = &acc{load: map[string]float64{}}
				per[alg] = a
			}
			if l, ok := a.load[w.Workload]; ok && bands > 1 && math.Abs(l-w.BusiestLoad) > 1e-9 {
				return nil, fmt.Errorf("%s: workloads[%d].busiest_load: %g, another estimate of %s says %g (the same run?)", f, i, w.BusiestLoad, w.Workload, l)
			}
			a.load[w.Workload] = w.BusiestLoad
			e := estimate{run: w.Workload, errs: map[cellKey]float64{}}
			for j, r := range w.Rows {
				if !(r.Truth > 0) || !(r.M4 > 0) {
					return nil, fmt.Errorf("%s: workloads[%d].rows[%d]: truth %g, m4 %g (no error to take)", f, i, j, r.Truth, r.M4)
				}
				k := cellKey{r.Bucket, r.Quantile}
				if !slices.Contains(a.order, k) {
					a.order = append(a.order, k)
				}
				e.errs[k] = r.M4/r.Truth - 1
			}
			a.ests = append(a.ests, e)
		}
	}
	t := &ckpts.HeldOutTable{Source: source}
	for _, alg := range cc.All() {
		a := per[alg]
		if a == nil {
			continue
		}
		_, file, data := shipped(alg)
		// cellsOf is the table of the estimates of the runs named: their
		// count and each cell's statistics.
		cellsOf := func(names []string) (int, []ckpts.HeldOutCell, error) {
			runs := map[string]bool{}
			for _, r := range names {
				runs[r] = true
			}
			var cs []ckpts.HeldOutCell
			n := 0
			for _, e := range a.ests {
				if runs[e.run] {
					n++
				}
			}
			for _, k := range a.order {
				var v []float64
				for _, e := range a.ests {
					if x, ok := e.errs[k]; ok && runs[e.run] {
						v = append(v, x)
					}
				}
				if len(v) != n {
					return 0, nil, fmt.Errorf("%s: bucket %s quantile %g: %d estimates of %d (eval.json files of different quantiles?)", alg, k.bucket, k.q, len(v), n)
				}
				cs = append(cs, heldOutCell(k, v))
			}
			return n, cs, nil
		}
		runs := slices.Collect(maps.Keys(a.load))
		slices.SortFunc(runs, func(x, y string) int { return cmp.Or(cmp.Compare(a.load[x], a.load[y]), strings.Compare(x, y)) })
		evals, cells, err := cellsOf(runs)
		if err != nil {
			return nil, err
		}
		e := ckpts.HeldOutErrors{CC: string(alg), Checkpoint: file, SHA256: ckpts.FileSHA256(data), Runs: len(runs), Evals: evals, Cells: cells}
		if bands > 1 {
			if len(runs) < bands {
				return nil, fmt.Errorf("%s: %d runs for %d load bands", alg, len(runs), bands)
			}
			for i := range bands {
				in := runs[i*len(runs)/bands : (i+1)*len(runs)/bands]
				n, cs, err := cellsOf(in)
				if err != nil {
					return nil, err
				}
				e.ByLoad = append(e.ByLoad, ckpts.HeldOutBand{LoadMin: a.load[in[0]], LoadMax: a.load[in[len(in)-1]], Runs: len(in), Evals: n, Cells: cs})
			}
		}
		t.Algorithms = append(t.Algorithms, e)
	}
	return t, nil
}

// cellKey is a size bucket and quantile.
type cellKey struct {
	bucket string
	q      float64
}

// heldOutCell is the statistics of one cell's signed relative errors v.
func heldOutCell(k cellKey, v []float64) ckpts.HeldOutCell {
	abs := make([]float64, len(v))
	within := 0
	for i, x := range v {
		abs[i] = math.Abs(x)
		if abs[i] <= 0.1 {
			within++
		}
	}
	return ckpts.HeldOutCell{Bucket: k.bucket, Quantile: k.q, SignedMedian: median(v), AbsMedian: median(abs),
		AbsP90: nearestRank(abs, 0.9), Within10: float64(within) / float64(len(v))}
}

// median of v (the mean of the middle two for an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// nearestRank is the q-quantile of v by nearest rank, the ceil(q n)-th
// smallest value: gonum's empirical quantile.
func nearestRank(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return stat.Quantile(q, stat.Empirical, s, nil)
}

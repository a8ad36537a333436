package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

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
// share within 10%.
func HeldOut(files []string, shipped Shipped, source string) (*ckpts.HeldOutTable, error) {
	type key struct {
		bucket string
		q      float64
	}
	type acc struct {
		runs  map[string]bool
		evals int
		cells map[key][]float64
		order []key
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
			a := per[alg]
			if a == nil {
				a = &acc{runs: map[string]bool{}, cells: map[key][]float64{}}
				per[alg] = a
			}
			a.runs[w.Workload] = true
			a.evals++
			for j, r := range w.Rows {
				if !(r.Truth > 0) || !(r.M4 > 0) {
					return nil, fmt.Errorf("%s: workloads[%d].rows[%d]: truth %g, m4 %g (no error to take)", f, i, j, r.Truth, r.M4)
				}
				k := key{r.Bucket, r.Quantile}
				if _, ok := a.cells[k]; !ok {
					a.order = append(a.order, k)
				}
				a.cells[k] = append(a.cells[k], r.M4/r.Truth-1)
			}
		}
	}
	t := &ckpts.HeldOutTable{Source: source}
	for _, alg := range cc.All() {
		a := per[alg]
		if a == nil {
			continue
		}
		_, file, data := shipped(alg)
		e := ckpts.HeldOutErrors{CC: string(alg), Checkpoint: file, SHA256: ckpts.FileSHA256(data), Runs: len(a.runs), Evals: a.evals}
		for _, k := range a.order {
			v := a.cells[k]
			if len(v) != a.evals {
				return nil, fmt.Errorf("%s: bucket %s quantile %g: %d estimates of %d (eval.json files of different quantiles?)", alg, k.bucket, k.q, len(v), a.evals)
			}
			abs := make([]float64, len(v))
			within := 0
			for i, x := range v {
				abs[i] = math.Abs(x)
				if abs[i] <= 0.1 {
					within++
				}
			}
			e.Cells = append(e.Cells, ckpts.HeldOutCell{Bucket: k.bucket, Quantile: k.q,
				SignedMedian: median(v), AbsMedian: median(abs), AbsP90: nearestRank(abs, 0.9),
				Within10: float64(within) / float64(len(v))})
		}
		t.Algorithms = append(t.Algorithms, e)
	}
	return t, nil
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

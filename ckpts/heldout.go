package ckpts

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/m4sim/m4/pipeline/cc"
)

// HeldOutName is the file, beside the checkpoints, that says how far each
// shipped checkpoint was from ns-3 on fork runs it never trained on
// (m4 ckpt heldout writes it from m4 eval's output).
const HeldOutName = "heldout.json"

//go:embed heldout.json
var heldOut []byte

// HeldOutTable is heldout.json: per congestion control, the error of the
// checkpoint m4 ships for it, measured on ns-3 fork runs that no training
// used (Source says which runs, and which of them chose among checkpoints).
type HeldOutTable struct {
	// Source says what was run: the suite and the command.
	Source     string          `json:"source"`
	Algorithms []HeldOutErrors `json:"algorithms"`
}

// HeldOutErrors is one algorithm's row of the table.
type HeldOutErrors struct {
	CC string `json:"cc"`
	// Checkpoint is the file ckpts.For(CC) gave, SHA256 the SHA-256 of its
	// bytes: the table speaks for that file only.
	Checkpoint string `json:"checkpoint"`
	SHA256     string `json:"sha256"`
	// Runs counts the distinct fork runs, Evals the estimates of them
	// (a run estimated with several sample seeds counts once per seed).
	Runs  int           `json:"runs"`
	Evals int           `json:"evals"`
	Cells []HeldOutCell `json:"cells"`
	// ByLoad splits the same runs by the load of their busiest link (by
	// flow count at the mean size: infer.Description.BusiestByCount) into
	// bands of about equal run counts, lightest first. Where the
	// error depends on load (the small flows' p99 above all: low on light
	// workloads, high on busy ones) a workload's own band says more than
	// the table of every run. Empty in a table made without bands.
	ByLoad []HeldOutBand `json:"by_load,omitempty"`
}

// HeldOutBand is the table of the runs whose busiest link carried a load
// (by flow count, as ByLoad) in [LoadMin, LoadMax].
type HeldOutBand struct {
	LoadMin float64       `json:"load_min"`
	LoadMax float64       `json:"load_max"`
	Runs    int           `json:"runs"`
	Evals   int           `json:"evals"`
	Cells   []HeldOutCell `json:"cells"`
}

// ForLoad returns the band for a workload whose busiest link carries load:
// the band whose runs' loads span it, else the nearest one (a load between
// two bands goes to the band with the nearer edge; beyond the outermost
// bands, to those). Nil when h has no bands.
func (h *HeldOutErrors) ForLoad(load float64) *HeldOutBand {
	if h == nil || len(h.ByLoad) == 0 {
		return nil
	}
	for i := range h.ByLoad {
		b := &h.ByLoad[i]
		if load > b.LoadMax {
			continue
		}
		if i > 0 && load < b.LoadMin && load-h.ByLoad[i-1].LoadMax < b.LoadMin-load {
			return &h.ByLoad[i-1]
		}
		return b
	}
	return &h.ByLoad[len(h.ByLoad)-1]
}

// HeldOutCell is one size bucket and quantile: over the estimates, the
// median of m4's signed relative error (m4 / ns-3 - 1), the median and
// 90th percentile of its absolute value, and the share within 10%.
type HeldOutCell struct {
	Bucket       string  `json:"bucket"`
	Quantile     float64 `json:"quantile"`
	SignedMedian float64 `json:"signed_median"`
	AbsMedian    float64 `json:"abs_median"`
	AbsP90       float64 `json:"abs_p90"`
	Within10     float64 `json:"within_10pct"`
}

// HeldOut returns the held-out errors of the checkpoint m4 ships for
// workloads of alg (For), or nil where the table has none.
func HeldOut(alg cc.CC) (*HeldOutErrors, error) {
	t, err := ReadHeldOut(heldOut)
	if err != nil {
		return nil, fmt.Errorf("ckpts: %s: %w", HeldOutName, err)
	}
	for i := range t.Algorithms {
		if t.Algorithms[i].CC == string(alg) {
			return &t.Algorithms[i], nil
		}
	}
	return nil, nil
}

// ReadHeldOut decodes a held-out table, refusing unknown fields.
func ReadHeldOut(b []byte) (*HeldOutTable, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var t HeldOutTable
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	return &t, nil
}

// FileSHA256 is the SHA-256 of a checkpoint file's bytes, in hex.
func FileSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// WriteTable prints h as m4 run shows it beside its estimate, for a
// workload whose busiest link carries load: the table of the load band
// ForLoad picks where h has bands, else of every run. Per size bucket and
// quantile: the median |m4 / ns-3 - 1|, in brackets the bound 90% of the
// estimates kept, and the median signed error (negative: m4 estimates low).
// A nil h prints nothing.
func (h *HeldOutErrors) WriteTable(w io.Writer, load float64) {
	if h == nil || len(h.Cells) == 0 {
		return
	}
	runs, evals, cells, which := h.Runs, h.Evals, h.Cells, ""
	if b := h.ForLoad(load); b != nil {
		runs, evals, cells = b.Runs, b.Evals, b.Cells
		which = fmt.Sprintf("(the %d of %d whose busiest link carried %.0f-%.0f%% load, nearest this workload's %.0f%%; every run's table is estimate.json's run.heldout_error)\n",
			b.Runs, h.Runs, 100*b.LoadMin, 100*b.LoadMax, 100*load)
	}
	est := ""
	if evals != runs {
		est = fmt.Sprintf(", %d estimates", evals)
	}
	fmt.Fprintf(w, "\nm4's own error for %s (%s) on %d ns-3 runs it never trained on%s: median |m4/ns-3 - 1| [90%% of estimates within], median signed error\n%s",
		strings.ToUpper(h.CC), h.Checkpoint, runs, est, which)
	writeCells(w, cells)
}

// writeCells prints a held-out table's cells, a row per size bucket.
func writeCells(w io.Writer, cs []HeldOutCell) {
	var qs []float64
	cells := map[string]map[float64]HeldOutCell{}
	var buckets []string
	for _, c := range cs {
		if cells[c.Bucket] == nil {
			cells[c.Bucket] = map[float64]HeldOutCell{}
			buckets = append(buckets, c.Bucket)
		}
		if !slices.Contains(qs, c.Quantile) {
			qs = append(qs, c.Quantile)
		}
		cells[c.Bucket][c.Quantile] = c
	}
	slices.Sort(qs)
	fmt.Fprint(w, "| bucket |")
	for _, q := range qs {
		fmt.Fprintf(w, " p%.4g |", 100*q) // p99, not p98.99999999999999
	}
	fmt.Fprint(w, "\n|---|")
	for range qs {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, b := range buckets {
		fmt.Fprintf(w, "| %s |", b)
		for _, q := range qs {
			c, ok := cells[b][q]
			if !ok {
				fmt.Fprint(w, " |")
				continue
			}
			fmt.Fprintf(w, " %.1f%% [%.0f%%] %+.1f%% |", 100*c.AbsMedian, 100*c.AbsP90, 100*c.SignedMedian)
		}
		fmt.Fprintln(w)
	}
}

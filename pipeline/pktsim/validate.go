package pktsim

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// Reference is the ns-3 ground truth stored in a shard folder: per flow in
// the fork's output order (by start time), the flow index (fid), the FCT
// clamped to the ideal, and the ideal FCT.
type Reference struct {
	FID     []int64
	FCTNs   []int64
	IdealNs []int64
}

// LoadReference reads fid_*.npy, fct_*.npy and fct_i_*.npy from dir.
func LoadReference(dir string) (*Reference, error) {
	pick := func(pattern string, skip string) (string, error) {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return "", err
		}
		var out []string
		for _, f := range m {
			if skip == "" || !strings.HasPrefix(filepath.Base(f), skip) {
				out = append(out, f)
			}
		}
		if len(out) != 1 {
			return "", fmt.Errorf("%s: want one %s, found %d", dir, pattern, len(out))
		}
		return out[0], nil
	}
	var files [3]string
	var err error
	if files[0], err = pick("fid_*.npy", ""); err != nil {
		return nil, err
	}
	if files[1], err = pick("fct_topo*.npy", ""); err != nil {
		return nil, err
	}
	if files[2], err = pick("fct_i_*.npy", ""); err != nil {
		return nil, err
	}
	var arrs [3][]int64
	for i, f := range files {
		a, err := npyfile.Read(f)
		if err != nil {
			return nil, err
		}
		v, err := a.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		arrs[i] = v
	}
	if len(arrs[0]) != len(arrs[1]) || len(arrs[0]) != len(arrs[2]) {
		return nil, fmt.Errorf("%s: fid, fct and fct_i have different lengths", dir)
	}
	return &Reference{FID: arrs[0], FCTNs: arrs[1], IdealNs: arrs[2]}, nil
}

// ShardReport compares one shard's pktsim run with ns-3's.
type ShardReport struct {
	Dir      string
	CCMode   int
	PFC      bool
	Hosts    int
	Flows    int
	Exact    int        // flows whose clamped FCT equals ns-3's to the ns
	IdealOK  int        // flows whose ideal FCT equals ns-3's
	Ours     [3]float64 // p50, p90, p99 of slowdown
	Theirs   [3]float64
	Spearman float64 // rank correlation of per-flow slowdowns
	Seconds  float64 // simulation wall time
	Events   uint64
	Err      error
}

// RelErr returns |ours/theirs - 1| for percentile k (0: p50, 1: p90, 2: p99).
func (r *ShardReport) RelErr(k int) float64 { return math.Abs(r.Ours[k]/r.Theirs[k] - 1) }

// OK reports whether the shard meets the bar: p50, p90, p99 within 10% and
// Spearman >= 0.8.
func (r *ShardReport) OK() bool {
	return r.Err == nil && r.RelErr(0) <= 0.1 && r.RelErr(1) <= 0.1 && r.RelErr(2) <= 0.1 && r.Spearman >= 0.8
}

// CompareShard simulates the shard in dir and compares it with its ns-3 run.
func CompareShard(dir string, opt Options) *ShardReport {
	rep := &ShardReport{Dir: dir}
	sh, err := LoadShard(dir, 0)
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.CCMode = sh.Config.CCMode
	rep.PFC = sh.Config.EnablePFC
	rep.Hosts = sh.Path.Hosts
	rep.Flows = sh.Flows.Len()
	ref, err := LoadReference(dir)
	if err != nil {
		rep.Err = err
		return rep
	}
	t0 := time.Now()
	res, err := sh.Run(opt)
	rep.Seconds = time.Since(t0).Seconds()
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Events = res.Stats.Events
	ours := make([]float64, len(ref.FID))
	theirs := make([]float64, len(ref.FID))
	for k, fid := range ref.FID {
		if fid < 0 || int(fid) >= len(res.FCTNs) {
			rep.Err = fmt.Errorf("%s: reference fid %d out of range", dir, fid)
			return rep
		}
		c := max(res.FCTNs[fid], res.IdealNs[fid])
		if c == ref.FCTNs[k] {
			rep.Exact++
		}
		if res.IdealNs[fid] == ref.IdealNs[k] {
			rep.IdealOK++
		}
		ours[k] = float64(c) / float64(res.IdealNs[fid])
		theirs[k] = float64(ref.FCTNs[k]) / float64(ref.IdealNs[k])
	}
	for i, p := range []float64{50, 90, 99} {
		rep.Ours[i] = Percentile(ours, p)
		rep.Theirs[i] = Percentile(theirs, p)
	}
	rep.Spearman = Spearman(ours, theirs)
	return rep
}

// Percentile is numpy's default (linear) percentile of v, p in [0, 100].
func Percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// ranks returns 1-based ranks with ties averaged.
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Spearman is the rank correlation of a and b: gonum's Pearson correlation
// of their ranks (ties take their mean rank); 1 when both are constant,
// NaN when only one is.
func Spearman(a, b []float64) float64 {
	ra, rb := ranks(a), ranks(b)
	if slices.Min(ra) == slices.Max(ra) && slices.Min(rb) == slices.Max(rb) {
		return 1
	}
	return stat.Correlation(ra, rb, nil)
}

// FindShards returns the shard folders (holding fat.npy and a config_*.txt)
// at dir itself, directly under it, or one level further down (so both a
// folder of shards and the reference root with m3-shards/ and ns3-paths/
// work), sorted.
func FindShards(dir string) ([]string, error) {
	out, err := findDirs(dir, isShardDir)
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s: no shard folders (with fat.npy and config_*.txt) in it or below it", dir)
	}
	return out, err
}

func isShardDir(d string) bool {
	m, _ := filepath.Glob(filepath.Join(d, "config_*.txt"))
	return fileExists(filepath.Join(d, "fat.npy")) && len(m) > 0
}

// findDirs returns dir if it satisfies is, else the folders one or two
// levels below it that do, sorted.
func findDirs(dir string, is func(string) bool) ([]string, error) {
	if is(dir) {
		return []string{dir}, nil
	}
	var out []string
	for _, pattern := range []string{"*", "*/*"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		for _, d := range m {
			if st, err := os.Stat(d); err == nil && st.IsDir() && is(d) {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ValidateShards compares every shard with ns-3 on a pool of workers
// (0 = one per CPU); reports come back in dirs' order. progress, if not nil,
// is called after each shard.
func ValidateShards(dirs []string, workers int, opt Options, progress func(done, total int, r *ShardReport)) []*ShardReport {
	return pool(dirs, workers, func(d string) *ShardReport { return CompareShard(d, opt) }, progress)
}

// pool runs do on every dir on workers goroutines (0 = one per CPU) and
// returns the results in dirs' order, calling progress (if not nil) after
// each, one call at a time.
func pool[R any](dirs []string, workers int, do func(string) R, progress func(done, total int, r R)) []R {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	reps := make([]R, len(dirs))
	var mu sync.Mutex
	done := 0
	// do returns no error, so neither does For
	_ = parallel.For(len(dirs), workers, func(_, i int) error {
		reps[i] = do(dirs[i])
		if progress != nil {
			mu.Lock()
			done++
			progress(done, len(dirs), reps[i])
			mu.Unlock()
		}
		return nil
	})
	return reps
}

// CCName names a CC mode: DCQCN, HPCC, TIMELY, DCTCP, or cc<mode>.
func CCName(mode int) string {
	if c, err := cc.FromMode(mode); err == nil {
		return c.Upper()
	}
	return fmt.Sprintf("cc%d", mode)
}

// WriteTable prints the validation table: per CC mode and path length, the
// scenarios, the share within 10% of ns-3 at p50/p90/p99, the share with
// Spearman >= 0.8, the share meeting all four, the share reproducing ns-3's
// FCTs exactly, and the worst errors.
func WriteTable(w io.Writer, reps []*ShardReport) {
	type key struct{ cc, h int }
	groups := map[key][]*ShardReport{}
	var keys []key
	var failed []*ShardReport
	for _, r := range reps {
		if r.Err != nil {
			failed = append(failed, r)
			continue
		}
		k := key{r.CCMode, r.Hosts}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].cc != keys[b].cc {
			return keys[a].cc < keys[b].cc
		}
		return keys[a].h < keys[b].h
	})
	fmt.Fprintln(w, "| CC | hosts | scenarios | flows | p50 within 10% | p90 within 10% | p99 within 10% | Spearman >= 0.8 | all four | exact FCTs (scenarios) | exact FCTs (flows) | median Spearman | worst p99 error |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	pct := func(n, d int) string { return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(d)) }
	var tot []*ShardReport
	row := func(name, hosts string, g []*ShardReport) {
		var within [3]int
		var sp, all, exact, flows, exactFlows int
		var sps []float64
		worst := 0.0
		for _, r := range g {
			for k := 0; k < 3; k++ {
				if r.RelErr(k) <= 0.1 {
					within[k]++
				}
			}
			if r.Spearman >= 0.8 {
				sp++
			}
			if r.OK() {
				all++
			}
			if r.Exact == r.Flows {
				exact++
			}
			flows += r.Flows
			exactFlows += r.Exact
			sps = append(sps, r.Spearman)
			worst = math.Max(worst, r.RelErr(2))
		}
		n := len(g)
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.4f | %.1f%% |\n", name, hosts, n, flows,
			pct(within[0], n), pct(within[1], n), pct(within[2], n), pct(sp, n), pct(all, n), pct(exact, n),
			pct(exactFlows, flows), Percentile(sps, 50), 100*worst)
	}
	for _, k := range keys {
		row(CCName(k.cc), fmt.Sprint(k.h), groups[k])
		tot = append(tot, groups[k]...)
	}
	if len(tot) > 0 {
		row("all", "all", tot)
	}
	for _, r := range failed {
		fmt.Fprintf(w, "\nfailed: %s: %v\n", r.Dir, r.Err)
	}
}

package datagen

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m4sim/m4/internal/refdata"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// referenceRoot returns the reference data folder, or skips.
func referenceRoot(t testing.TB) string { return refdata.Root(t) }

func referenceDirs(t testing.TB, set string) []string {
	dirs, _ := filepath.Glob(filepath.Join(referenceRoot(t), set, "shard*"))
	if len(dirs) == 0 {
		t.Fatalf("no scenarios in %s", set)
	}
	return dirs
}

// trafficRelations checks, over many scenarios, the relations the fork's
// generator builds in: mean size = 1 kB * (sigma/5000)^2 for exp and lognorm
// sizes; arrival rate = pairs * bottleneck rate * load / (8 * mean size);
// the first pair is (0, H-1), F flows per pair, sizes >= 50 B; and the
// foreground count matches the stats. It returns the mean ratios of
// measured to predicted size (exp) and rate.
type relation struct {
	hosts int
	stats Stats
	fat   []int64
	fsize []int64
	fsd   []int32
}

func checkRelations(t *testing.T, what string, flowsPerPair int, rs []relation) map[string][]float64 {
	t.Helper()
	pooled := map[string][]float64{} // per distribution: size / (1 kB * (sigma/5000)^2)
	var sizeRatio, rateLog []float64
	for _, r := range rs {
		s := r.stats
		h := r.hosts
		if s.HostPairList[0] != [2]int{0, h - 1} {
			t.Fatalf("%s: first pair %v", what, s.HostPairList[0])
		}
		if ntc := len(s.HostPairList); ntc < 2 || ntc > h*(h-1)/2 || s.NFlows != flowsPerPair*ntc || len(r.fsize) != s.NFlows {
			t.Fatalf("%s: %d pairs, %d flows (stats %d), F = %d", what, ntc, len(r.fsize), s.NFlows, flowsPerPair)
		}
		fg := 0
		mean := 0.0
		for i, sz := range r.fsize {
			if sz < 50 {
				t.Fatalf("%s: flow %d of %d B", what, i, sz)
			}
			mean += float64(sz)
			if r.fsd[2*i] == 0 && int(r.fsd[2*i+1]) == h-1 {
				fg++
			}
		}
		mean /= float64(len(r.fsize))
		if fg != s.NFlowsForeground {
			t.Fatalf("%s: %d foreground flows, stats say %d", what, fg, s.NFlowsForeground)
		}
		pred := 1000 * (s.SizeSigmaCandidate / 5000) * (s.SizeSigmaCandidate / 5000)
		if s.SizeDistCandidate == "exp" {
			sizeRatio = append(sizeRatio, mean/pred)
		}
		// lognorm's shape depends on sigma: pool its standard scores
		// (ln(bits - 50 B + half the truncation) - mu) / sig instead.
		sig := s.SizeSigmaCandidate/50000 + 1
		mu := math.Log(8*pred-minSizeBits) - sig*sig/2
		for _, sz := range r.fsize {
			v := float64(sz) / pred
			if s.SizeDistCandidate == "lognorm" {
				v = (math.Log(8*float64(sz)-minSizeBits+4) - mu) / sig
			}
			pooled[s.SizeDistCandidate] = append(pooled[s.SizeDistCandidate], v)
		}
		perLink := make([]float64, h-1)
		scale := func(l int) float64 {
			if l == 0 || l == h-2 {
				return 1
			}
			return 4
		}
		btl := 0
		for _, p := range s.HostPairList {
			for l := p[0]; l < p[1]; l++ {
				perLink[l] += 1 / scale(l)
			}
		}
		for l := range perLink {
			if perLink[l] > perLink[btl] {
				btl = l
			}
		}
		rate := scale(btl) * 10e9 * s.LoadCandidate / 8 / mean * float64(len(s.HostPairList))
		n := len(r.fat)
		emp := float64(n-1) / (float64(r.fat[n-1]-r.fat[0]) / 1e9)
		rateLog = append(rateLog, math.Log(emp/rate))
	}
	avg := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	if len(sizeRatio) < 10 {
		t.Fatalf("%s: only %d exp scenarios", what, len(sizeRatio))
	}
	if r := avg(sizeRatio); math.Abs(r-1) > 0.02 {
		t.Errorf("%s: exp sizes: mean / predicted = %.4f over %d scenarios, want 1 +- 0.02", what, r, len(sizeRatio))
	}
	if r := math.Exp(avg(rateLog)); math.Abs(r-1) > 0.03 {
		t.Errorf("%s: arrival rate / predicted = %.4f (geometric mean over %d), want 1 +- 0.03", what, r, len(rateLog))
	}
	t.Logf("%s: %d scenarios: exp size ratio %.4f, arrival rate ratio %.4f", what, len(rs), avg(sizeRatio), math.Exp(avg(rateLog)))
	return pooled
}

// TestTrafficMatchesForkRelations checks the generator's relations on the
// fork's own scenarios (which pins down the reading of its formulas) and on
// scenarios m4 generates with the default spec (which checks the code).
func TestTrafficMatchesForkRelations(t *testing.T) {
	var ref []relation
	for _, dir := range referenceDirs(t, "ns3-paths") {
		st, err := ReadStatsNPY(filepath.Join(dir, "stats.npy"))
		if err != nil {
			t.Fatal(err)
		}
		r := relation{stats: *st}
		r.hosts = 3
		if strings.Contains(dir, "nhosts5") {
			r.hosts = 5
		} else if strings.Contains(dir, "nhosts7") {
			r.hosts = 7
		}
		fat, _ := npyfile.Read(filepath.Join(dir, "fat.npy"))
		fsize, _ := npyfile.Read(filepath.Join(dir, "fsize.npy"))
		fsd, _ := npyfile.Read(filepath.Join(dir, "fsd.npy"))
		r.fat, r.fsize, r.fsd = fat.Data.([]int64), fsize.Data.([]int64), fsd.Data.([]int32)
		ref = append(ref, r)
	}
	fork := checkRelations(t, "fork (ns3-paths)", 300, ref)

	spec := DefaultSpec()
	spec.Shards.Count = 300
	var gen []relation
	for i := 0; i < spec.Scenarios(); i++ {
		sc, err := spec.Sample(spec.Item(i))
		if err != nil {
			t.Fatal(err)
		}
		p := sc.Traffic.Path
		r := relation{hosts: p.Hosts, stats: sc.Traffic.Stats}
		for k := range p.ArrivalNs {
			r.fat = append(r.fat, int64(p.ArrivalNs[k]))
			r.fsize = append(r.fsize, int64(p.SizeBytes[k]))
			r.fsd = append(r.fsd, p.Src[k], p.Dst[k])
		}
		gen = append(gen, r)
	}
	mine := checkRelations(t, "m4 datagen", 300, gen)
	// The shape of each size distribution, fork against m4: pooled quantiles
	// of size / predicted mean (within 5%), and for lognorm of the standard
	// scores, which must also be standard normal (within 0.05).
	normal := map[float64]float64{0.1: -1.2816, 0.25: -0.6745, 0.5: 0, 0.75: 0.6745, 0.9: 1.2816}
	for _, dist := range []string{"exp", "gaussian", "lognorm", "pareto"} {
		a, b := fork[dist], mine[dist]
		slices.Sort(a)
		slices.Sort(b)
		for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9} {
			qa, qb := a[int(q*float64(len(a)))], b[int(q*float64(len(b)))]
			if dist == "lognorm" {
				if math.Abs(qa-normal[q]) > 0.05 || math.Abs(qb-normal[q]) > 0.05 {
					t.Errorf("lognorm sizes: p%.0f of the standard score is %.4f in the fork's data, %.4f in m4's, want %.4f +- 0.05",
						q*100, qa, qb, normal[q])
				}
			} else if math.Abs(qa-qb) > 0.05*qa {
				t.Errorf("%s sizes: p%.0f of size/mean is %.4f in the fork's data, %.4f in m4's", dist, q*100, qa, qb)
			}
		}
	}
}

package datagen

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/m4sim/m4/pipeline/scenario"
)

// Traffic generation after the HPCC fork's traffic_gen_synthetic.py (the
// generator of m3's path scenarios), with m4's own random streams.
const (
	minSizeBits     = 8 * 50   // every flow has at least 50 B
	avgSizeBaseBits = 8 * 1000 // mean size scale: 1 kB at sigma 5000
	innerLinkScale  = 4        // inner links run 4x the host link rate
	firstArrivalNs  = 1e9      // the first flow starts at 1 s
)

// Stats records what was drawn for a scenario's traffic, with the keys of
// the fork's stats.npy.
type Stats struct {
	NFlows               int      `json:"n_flows"`
	Ratio                float64  `json:"ratio"` // probability that a flow is foreground
	NFlowsForeground     int      `json:"n_flows_foreground"`
	LoadBottleneckTarget float64  `json:"load_bottleneck_target"`
	HostPairList         [][2]int `json:"host_pair_list"`
	LoadCandidate        float64  `json:"load_candidate"` // after scaling to the bottleneck target
	SizeDistCandidate    string   `json:"size_dist_candidate"`
	SizeSigmaCandidate   float64  `json:"size_sigma_candidate"`
	IASSigmaCandidate    float64  `json:"ias_sigma_candidate"`
}

// uniform draws from [r[0], r[1]).
func uniform(rng *rand.Rand, r []float64) float64 { return r[0] + rng.Float64()*(r[1]-r[0]) }

// Traffic is one scenario's flows and what was drawn to make them.
type Traffic struct {
	Path  *scenario.Path
	Stats Stats
	// EndNs is the time after the last flow's gap, + 1 s: the fork writes it
	// as the flow file's last line and stops the simulation 2 s after it.
	EndNs float64
}

// GenerateTraffic draws the flows of one H-host path scenario from spec t
// (flowsPerPair flows per active pair on average, linkGbps host links):
//
//  1. The active host pairs: (0, H-1) and a random subset of the other
//     left-to-right pairs, 2 to H(H-1)/2 pairs in all.
//  2. A size distribution, its sigma, the inter-arrival sigma, a per-pair
//     load and a bottleneck target; the per-pair load is scaled so that the
//     busiest link (inner links count 1/4) carries the target.
//  3. F * pairs + 1 sizes from the distribution (at least 50 B, truncated to
//     whole bytes); their mean sets the arrival rate: pairs / mean gap =
//     bottleneck rate * load / (8 * mean size).
//  4. Each flow picks its pair with weights w_0 = 1, w_k = U * c / pairs
//     (c drawn from {pairs, 10, 20, 50}), so the foreground share varies.
//
// Arrivals start at 1 s and are whole ns.
func GenerateTraffic(rng *rand.Rand, t *PathTrafficSpec, hosts, flowsPerPair, linkGbps int) (*Traffic, error) {
	if hosts < 3 {
		return nil, fmt.Errorf("traffic: %d hosts, want >= 3", hosts)
	}
	// links 0..H-2; the two end links at the host rate, the inner ones 4x.
	scale := make([]float64, hosts-1)
	for l := range scale {
		scale[l] = innerLinkScale
		if l == 0 || l == hosts-2 {
			scale[l] = 1
		}
	}
	var others [][2]int
	for i := 0; i < hosts-1; i++ {
		for j := i + 1; j < hosts; j++ {
			if j-i != hosts-1 {
				others = append(others, [2]int{i, j})
			}
		}
	}
	ntc := 2 + rng.IntN(hosts*(hosts-1)/2-1) // 2 .. H(H-1)/2
	pairs := [][2]int{{0, hosts - 1}}
	for _, k := range rng.Perm(len(others))[:ntc-1] {
		pairs = append(pairs, others[k])
	}

	st := Stats{HostPairList: pairs}
	st.SizeDistCandidate = t.SizeDists[rng.IntN(len(t.SizeDists))]
	st.SizeSigmaCandidate = uniform(rng, t.SizeSigma)
	st.IASSigmaCandidate = uniform(rng, t.IASigma)
	load := uniform(rng, t.Load)
	st.LoadBottleneckTarget = uniform(rng, t.BottleneckLoad)

	perLink := make([]float64, hosts-1)
	for _, p := range pairs {
		for l := p[0]; l < p[1]; l++ {
			perLink[l] += load / scale[l]
		}
	}
	btl := 0
	for l := range perLink {
		if perLink[l] > perLink[btl] {
			btl = l
		}
	}
	load = load * st.LoadBottleneckTarget / perLink[btl]
	st.LoadCandidate = load

	n := flowsPerPair*ntc + 1
	sizes, err := drawSizes(rng, t, st.SizeDistCandidate, st.SizeSigmaCandidate, n)
	if err != nil {
		return nil, err
	}
	mean := 0.0
	for _, s := range sizes {
		mean += s
	}
	mean /= float64(n)

	// Mean gap between two flows of the scenario, seconds.
	btlBps := scale[btl] * float64(linkGbps) * 1e9
	gap := 1 / (btlBps * load / 8 / mean) / float64(ntc)
	gaps := make([]float64, n-1)
	switch t.Arrival {
	case "lognorm":
		sig := st.IASSigmaCandidate
		mu := math.Log(gap) - sig*sig/2
		for i := range gaps {
			gaps[i] = math.Trunc(math.Exp(mu+sig*rng.NormFloat64()) * 1e9)
		}
	case "poisson":
		st.IASSigmaCandidate = 0
		for i := range gaps {
			gaps[i] = math.Trunc(rng.ExpFloat64() * gap * 1e9)
		}
	default:
		return nil, fmt.Errorf("traffic: unknown arrival process %q", t.Arrival)
	}

	cands := []float64{float64(ntc), 10, 20, 50}
	c := cands[rng.IntN(len(cands))]
	w := make([]float64, ntc)
	for k := range w {
		w[k] = rng.Float64() * c / float64(ntc)
	}
	w[0] = 1
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	cum := make([]float64, ntc)
	acc := 0.0
	for k, x := range w {
		acc += x / sum
		cum[k] = acc
	}
	st.Ratio = w[0] / sum

	m := n - 1
	p := &scenario.Path{
		Hosts:     hosts,
		ArrivalNs: make([]float64, m),
		SizeBytes: make([]float64, m),
		Src:       make([]int32, m),
		Dst:       make([]int32, m),
	}
	at := firstArrivalNs
	for i := 0; i < m; i++ {
		u := rng.Float64()
		k := 0
		for k < ntc-1 && u >= cum[k] {
			k++
		}
		if k == 0 {
			st.NFlowsForeground++
		}
		p.Src[i], p.Dst[i] = int32(pairs[k][0]), int32(pairs[k][1])
		p.SizeBytes[i] = sizes[i]
		p.ArrivalNs[i] = at
		at += gaps[i]
	}
	st.NFlows = m
	return &Traffic{Path: p, Stats: st, EndNs: at + 1e9}, nil
}

// drawSizes draws n flow sizes (whole bytes >= 50) from distribution name.
// The parametric ones are the fork's: the mean size is about
// 1 kB * (sigma/5000)^2.
func drawSizes(rng *rand.Rand, t *PathTrafficSpec, name string, sigma float64, n int) ([]float64, error) {
	out := make([]float64, n)
	avg := avgSizeBaseBits * (sigma / 5000) * (sigma / 5000) // mean size, bits
	bytesOf := func(bits float64) float64 { return math.Trunc((minSizeBits + bits) / 8) }
	switch name {
	case "exp":
		mu := avg - minSizeBits
		for i := range out {
			out[i] = bytesOf(rng.ExpFloat64() * mu)
		}
	case "gaussian":
		mu := avg - minSizeBits
		for i := range out {
			x := -1.0
			for x < 0 { // a normal draw redrawn until >= 0, as PosNormal does
				x = mu + avg*rng.NormFloat64()
			}
			out[i] = bytesOf(x)
		}
	case "lognorm":
		sig := sigma/50000 + 1
		mu := math.Log(avg-minSizeBits) - sig*sig/2
		for i := range out {
			out[i] = bytesOf(math.Exp(mu + sig*rng.NormFloat64()))
		}
	case "pareto":
		// Generalised Pareto with scale avg//2 and the shape psi that solves
		// 5 = (1 + psi*(avg-min)/scale)^(1/psi), as the fork does.
		scale := math.Floor(avg / 2)
		a := (avg - minSizeBits) / scale
		psi, err := solvePsi(a)
		if err != nil {
			return nil, err
		}
		for i := range out {
			u := rng.Float64()
			x := (math.Pow(1-u, -psi) - 1) / psi // genpareto ppf
			out[i] = bytesOf(scale * x)
		}
	default:
		c, ok := t.SizeCDFs[name]
		if !ok {
			return nil, fmt.Errorf("traffic: unknown size distribution %q", name)
		}
		for i := range out {
			out[i] = math.Max(1, math.Round(cdfValue(c.Points, rng.Float64()*100)))
		}
	}
	return out, nil
}

// solvePsi finds psi in (0, 1) with (1 + psi*a)^(1/psi) = 5, by bisection:
// the left side falls from e^a at psi -> 0 to 1 + a at psi = 1.
func solvePsi(a float64) (float64, error) {
	f := func(x float64) float64 { return math.Pow(1+x*a, 1/x) - 5 }
	lo, hi := 1e-9, 1.0
	if !(f(lo) > 0 && f(hi) < 0) {
		return 0, fmt.Errorf("traffic: pareto: no shape in (0, 1) gives the fork's tail for a = %v", a)
	}
	for i := 0; i < 200 && hi-lo > 1e-15; i++ {
		mid := (lo + hi) / 2
		if f(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2, nil
}

// cdfValue inverts a piecewise-linear CDF of (bytes, percent) points at
// percent y, as the fork's custom_rand does.
func cdfValue(pts [][]float64, y float64) float64 {
	for i := 1; i < len(pts); i++ {
		if y <= pts[i][1] {
			x0, y0, x1, y1 := pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1]
			return x0 + (x1-x0)/(y1-y0)*(y-y0)
		}
	}
	return pts[len(pts)-1][0]
}

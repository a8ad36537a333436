package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Flows are a workload's flows in ascending start time; flow i has id i.
type Flows struct {
	Src, Dst []int32
	Size     []int64 // payload bytes
	StartNs  []int64
}

// Len returns the number of flows.
func (f *Flows) Len() int { return len(f.StartNs) }

// Validate checks the flows against a topology: equal lengths, hosts for
// sources and destinations, src != dst, sizes >= 1, starts ascending >= 0.
// The error names the first bad flow.
func (f *Flows) Validate(t *Topology) error {
	n := len(f.StartNs)
	if len(f.Src) != n || len(f.Dst) != n || len(f.Size) != n {
		return fmt.Errorf("flows: mismatched lengths: %d starts, %d src, %d dst, %d sizes", n, len(f.Src), len(f.Dst), len(f.Size))
	}
	isHost := func(v int32) bool { return v >= 0 && int(v) < t.NumNodes() && !t.IsSwitch[v] }
	for i := 0; i < n; i++ {
		switch {
		case !isHost(f.Src[i]):
			return fmt.Errorf("flow %d: src %d is not a host of %s", i, f.Src[i], t.Name)
		case !isHost(f.Dst[i]):
			return fmt.Errorf("flow %d: dst %d is not a host of %s", i, f.Dst[i], t.Name)
		case f.Src[i] == f.Dst[i]:
			return fmt.Errorf("flow %d: src == dst == %d", i, f.Src[i])
		case f.Size[i] < 1:
			return fmt.Errorf("flow %d: size %d bytes, want >= 1", i, f.Size[i])
		case f.StartNs[i] < 0:
			return fmt.Errorf("flow %d: start %d ns < 0", i, f.StartNs[i])
		case i > 0 && f.StartNs[i] < f.StartNs[i-1]:
			return fmt.Errorf("flow %d: starts at %d ns, before flow %d at %d ns; flows must be in start order", i, f.StartNs[i], i-1, f.StartNs[i-1])
		}
	}
	return nil
}

// Workload is a generated datacenter workload and how it was made.
type Workload struct {
	Spec    *Spec
	Topo    *Topology
	Fabric  *FabricSpec // the fabric's shape, nil for other topologies
	Routing *Routing
	Matrix  *TrafficMatrix
	Sizes   SizeDist
	Flows   Flows

	// Shares is the expected fraction of flows crossing each channel (ECMP
	// splitting evenly); MeanGapNs the mean inter-arrival time that puts
	// the expected load of the busiest channel, Busiest, at Spec.MaxLoad.
	Shares    []float64
	MeanGapNs float64
	Busiest   int32
}

// StartNs is when the first flow starts: 1 s, as in m3's and Parsimon's data.
const StartNs = 1_000_000_000

// Streams of the seed's random number generators, one per use, so that
// changing one part of a spec leaves the others' draws alone.
const (
	streamMatrix = iota + 0x6d34_0001
	streamPairs
	streamSizes
	streamGaps
)

// BuildTopology makes the spec's network; fabric is non-nil for fabrics.
func BuildTopology(s *Spec) (t *Topology, fabric *FabricSpec, err error) {
	ts := s.Topology
	switch ts.Kind {
	case "fabric":
		fs := FabricSpec{ts.Pods, ts.FabsPerPod, ts.RacksPerPod, ts.HostsPerRack, ts.SpinesPerPlane, ts.HostGbps, ts.FabricGbps, ts.LinkDelayNs}
		t, err = Fabric(fs)
		fabric = &fs
	case "fattree":
		t, err = FatTree(ts.K, ts.HostGbps, ts.FabricGbps, ts.LinkDelayNs)
	case "file":
		t, err = ReadNS3(s.path(ts.File))
	default:
		err = fmt.Errorf("unknown topology kind %q", ts.Kind)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: topology: %w", s.File, err)
	}
	return t, fabric, nil
}

// SizeDistOf returns the spec's size distribution.
func SizeDistOf(s *Spec) (SizeDist, error) {
	var d SizeDist
	var err error
	switch z := s.Sizes; {
	case z.Dist == "file":
		d, err = LoadCDF(s.path(z.File))
	case z.Sigma != 0:
		d, err = NewParametric(z.Dist, z.Sigma)
	default:
		d, err = Embedded(z.Dist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: sizes: %w", s.File, err)
	}
	return d, nil
}

// Options bound and report the generation of a workload.
type Options struct {
	// MaxFlows refuses workloads of more flows (expected flows, for a
	// duration) before any is drawn; 0 means DefaultMaxFlows.
	MaxFlows int
	// Progress, if set, is called now and then with the flows drawn so far
	// and the flows expected in all.
	Progress func(done, total int)
}

// Generate builds the workload a spec describes, within the default limits
// (see GenerateWith). It is deterministic for the spec (seed included).
func Generate(s *Spec) (*Workload, error) { return GenerateWith(s, Options{}) }

// GenerateWith builds the workload a spec describes. Its size is checked
// against MaxNodes and o.MaxFlows before anything large is built: an error
// wrapping ErrTooLarge says how big it would be.
func GenerateWith(s *Spec, o Options) (*Workload, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	maxFlows := o.MaxFlows
	if maxFlows <= 0 {
		maxFlows = DefaultMaxFlows
	}
	if s.Flows > 0 {
		if err := s.checkFlows(float64(s.Flows), maxFlows); err != nil {
			return nil, err
		}
	}
	if err := s.checkNodes(); err != nil {
		return nil, err
	}
	t, fabric, err := BuildTopology(s)
	if err != nil {
		return nil, err
	}
	rt, err := NewRouting(t)
	if err != nil {
		return nil, fmt.Errorf("%s: topology: %w", s.File, err)
	}
	rng := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(s.Seed, stream)) }
	var m *TrafficMatrix
	if s.Traffic.Matrix == "file" {
		m, err = LoadMatrix(s.path(s.Traffic.File), t, rng(streamMatrix))
	} else {
		m, err = NamedMatrix(s.Traffic.Matrix, t, rng(streamMatrix))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: traffic: %w", s.File, err)
	}
	sizes, err := SizeDistOf(s)
	if err != nil {
		return nil, err
	}
	w := &Workload{Spec: s, Topo: t, Fabric: fabric, Routing: rt, Matrix: m, Sizes: sizes}
	w.Shares = ChannelShares(rt, m)
	w.MeanGapNs, w.Busiest = MeanGap(t, w.Shares, sizes.Mean(), s.MaxLoad)

	var gap func(r *rand.Rand) float64
	switch s.Arrivals.Process {
	case "poisson":
		gap = func(r *rand.Rand) float64 { return r.ExpFloat64() * w.MeanGapNs }
	case "lognormal":
		sigma := s.Arrivals.Sigma
		mu := math.Log(w.MeanGapNs) - sigma*sigma/2
		gap = func(r *rand.Rand) float64 { return math.Exp(mu + sigma*r.NormFloat64()) }
	}
	expected := s.expectedFlows(w.MeanGapNs)
	if err := s.checkFlows(expected, maxFlows); err != nil {
		return nil, err
	}
	n := s.Flows
	end := math.Inf(1)
	if n == 0 {
		end = StartNs + s.DurationS*1e9
		n = int(math.Min(expected*1.05+16, 1<<22)) // a capacity hint
	}
	// a duration's gaps are random: allow for more flows than expected
	// before refusing, but never unboundedly many
	hardMax := max(s.Flows, int(math.Min(2*expected+1024, float64(maxFlows))))
	f := &w.Flows
	f.Src = make([]int32, 0, n)
	f.Dst = make([]int32, 0, n)
	f.Size = make([]int64, 0, n)
	f.StartNs = make([]int64, 0, n)
	rPairs, rSizes, rGaps := rng(streamPairs), rng(streamSizes), rng(streamGaps)
	// Arrival times accumulate in float64 and round per flow, so rounding
	// never biases the rate.
	at := float64(StartNs)
	total := int(expected)
	for i := 0; (s.Flows == 0 || i < s.Flows) && at < end; i++ {
		if i >= hardMax {
			return nil, fmt.Errorf("%s: duration_s = %v gives more than %d flows: %w", s.File, s.DurationS, hardMax, ErrTooLarge)
		}
		if o.Progress != nil && i&(1<<16-1) == 0 && i > 0 {
			o.Progress(i, max(total, i))
		}
		src, dst := m.Sample(t, rPairs)
		f.Src = append(f.Src, src)
		f.Dst = append(f.Dst, dst)
		f.Size = append(f.Size, sizes.Sample(rSizes))
		f.StartNs = append(f.StartNs, int64(math.Round(at)))
		at += gap(rGaps)
	}
	if o.Progress != nil {
		o.Progress(w.Flows.Len(), w.Flows.Len())
	}
	return w, nil
}

// ChannelShares returns the expected fraction of a workload's flows that
// cross each channel, when flows follow matrix m and ECMP splits them
// evenly over the next hops at every switch.
func ChannelShares(rt *Routing, m *TrafficMatrix) []float64 {
	t := rt.t
	R := len(t.Racks)
	total := m.Total()
	share := make([]float64, t.NumChannels())
	// Host links: hosts of a rack are equally likely ends.
	for a := 0; a < R; a++ {
		out, in := 0.0, 0.0
		for b := 0; b < R; b++ {
			out += m.W[a*R+b]
			in += m.W[b*R+a]
		}
		nh := float64(len(t.Racks[a].Hosts))
		for _, h := range t.Racks[a].Hosts {
			up := t.adjChan[t.adjStart[h]]
			share[up] += out / total / nh
			share[up^1] += in / total / nh
		}
	}
	// Between switches: per destination rack, push every source rack's
	// mass down the shortest-path DAG, farthest switches first.
	mass := make([]float64, rt.nSw)
	swNode := make([]int32, rt.nSw)
	for v, i := range rt.swIndex {
		if i >= 0 {
			swNode[i] = int32(v)
		}
	}
	order := make([]int32, rt.nSw)
	for b := 0; b < R; b++ {
		d := rt.dist[b*rt.nSw : (b+1)*rt.nSw]
		any := false
		for a := 0; a < R; a++ {
			if w := m.W[a*R+b]; w > 0 && a != b {
				mass[rt.swIndex[t.Racks[a].Switch]] += w / total
				any = true
			}
		}
		if !any {
			continue
		}
		for i := range order {
			order[i] = int32(i)
		}
		sort.Slice(order, func(i, j int) bool { return d[order[i]] > d[order[j]] })
		for _, si := range order {
			x := mass[si]
			if x == 0 || d[si] == 0 {
				continue
			}
			mass[si] = 0
			v := swNode[si]
			nodes, chans := t.neighbours(v)
			k := 0
			for _, u := range nodes {
				if su := rt.swIndex[u]; su >= 0 && d[su] == d[si]-1 {
					k++
				}
			}
			for j, u := range nodes {
				if su := rt.swIndex[u]; su >= 0 && d[su] == d[si]-1 {
					share[chans[j]] += x / float64(k)
					mass[su] += x / float64(k)
				}
			}
		}
		mass[rt.swIndex[t.Racks[b].Switch]] = 0
	}
	return share
}

// MeanGap returns the mean inter-arrival time (ns) that puts the expected
// payload load of the busiest channel at maxLoad, and that channel.
func MeanGap(t *Topology, shares []float64, meanBytes, maxLoad float64) (gapNs float64, busiest int32) {
	best := math.Inf(1) // flows per ns that fill the channel
	busiest = -1
	for c, sh := range shares {
		if sh <= 0 {
			continue
		}
		_, _, gbps := t.Channel(int32(c))
		if r := gbps / (sh * meanBytes * 8); r < best {
			best, busiest = r, int32(c)
		}
	}
	return 1 / (maxLoad * best), busiest
}

// WireBytes returns the bytes a flow puts on the wire: its payload plus a
// 48 B header per 1000 B packet.
func WireBytes(size int64) int64 { return size + (size+999)/1000*48 }

// ChannelLoad is the offered load of one channel.
type ChannelLoad struct {
	Channel  int32   `json:"channel"`
	From     int32   `json:"from"`
	To       int32   `json:"to"`
	Gbps     float64 `json:"gbps"`
	Flows    int64   `json:"flows"`
	Load     float64 `json:"load"`      // payload bits per second / capacity
	LoadWire float64 `json:"load_wire"` // with packet headers
	Expected float64 `json:"expected"`  // the load Workload.Shares predicts
	// LoadByCount is the load of the channel's flow count at the mean size
	// of every flow of the workload: where one size distribution serves
	// every pair, an estimate of its expected load that a few heavy-tailed
	// draws do not sway (Load can be several times the target on a host
	// link that drew two of the largest flows).
	LoadByCount float64 `json:"load_by_count"`
}

// OfferedLoads routes every flow (on its ns-3 ECMP path) and returns each
// channel's offered load: the bits it carries times the flows' arrival rate
// ((n-1) gaps over the span of start times) over n flows, per capacity.
func OfferedLoads(rt *Routing, f *Flows) []ChannelLoad {
	t := rt.t
	nc := t.NumChannels()
	bits := make([]float64, nc)
	wire := make([]float64, nc)
	count := make([]int64, nc)
	sports := Sports(f.Src, f.Dst)
	var path []int32
	for i := range f.Src {
		path = rt.AppendRoute(path[:0], f.Src[i], f.Dst[i], sports[i])
		b, wb := float64(f.Size[i])*8, float64(WireBytes(f.Size[i]))*8
		for _, c := range path {
			bits[c] += b
			wire[c] += wb
			count[c]++
		}
	}
	n := f.Len()
	// rate estimate: n-1 gaps over the span
	perNs, meanBits := 0.0, 0.0
	if n > 1 && f.StartNs[n-1] > f.StartNs[0] {
		perNs = float64(n-1) / float64(n) / float64(f.StartNs[n-1]-f.StartNs[0])
	}
	for _, s := range f.Size {
		meanBits += float64(s) * 8
	}
	if n > 0 {
		meanBits /= float64(n)
	}
	out := make([]ChannelLoad, nc)
	for c := 0; c < nc; c++ {
		from, to, gbps := t.Channel(int32(c))
		out[c] = ChannelLoad{Channel: int32(c), From: from, To: to, Gbps: gbps, Flows: count[c],
			Load: bits[c] * perNs / gbps, LoadWire: wire[c] * perNs / gbps, LoadByCount: float64(count[c]) * meanBits * perNs / gbps}
	}
	return out
}

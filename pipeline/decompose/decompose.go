// Package decompose splits a datacenter workload into path-level scenarios,
// as m3 does on top of Parsimon: every flow takes one path (its ECMP path in
// ns-3); the flows of one path are that path's foreground; every other flow
// that shares at least one of the path's channels (directed links) is
// background, mapped onto the parking-lot form that flowsim and the model
// consume: a path of L channels becomes hosts 0..L in a line, channel i
// joining host i to host i+1; the foreground flows go from host 0 to host
// L; a background flow enters at the first channel of each run of
// consecutive channels it shares with the path and leaves after the run's
// last (a flow that leaves the path and rejoins it later becomes one
// parking-lot flow per run, as m3 splits it).
//
// New indexes the workload (route every flow, group flows by path and by
// channel) in time linear in the flows; Scenario then builds any one path's
// parking lot in time linear in the flows on its channels. A workload of
// 10^6 flows has up to 10^6 paths, so callers build the scenarios they
// need (Sample picks them as m3 does) rather than all at once.
package decompose

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"

	"github.com/m4sim/m4/internal/parallel"
	"github.com/m4sim/m4/pipeline/scenario"
	"github.com/m4sim/m4/pipeline/workload"
)

// MaxPathLen is the most channels a path may have.
const MaxPathLen = 64

// Decomposition is a workload indexed by path and by channel.
type Decomposition struct {
	Routing *workload.Routing
	Flows   *workload.Flows

	FlowPath []int32 // the path of each flow

	pathStart, pathChans []int32 // CSR: channels of each path, in order
	fgStart, fgFlows     []int32 // CSR: foreground flows of each path, ascending
	chStart, chFlows     []int32 // CSR: flows on each channel, ascending
	// chRec holds, beside chFlows, what a parking lot needs of each flow,
	// so that building one reads each channel's flows in one sweep
	// instead of gathering them from the workload's arrays.
	chRec []chanFlow
}

// chanFlow is one flow on a channel, as Scenario reads it.
type chanFlow struct {
	startNs, size float64
	flow, path    int32
}

// New routes every flow on its ECMP path (the one ns-3 gives it: source
// ports counted per host pair in flow order) and indexes the workload.
// flows must be valid for the routing's topology (see Flows.Validate).
func New(rt *workload.Routing, flows *workload.Flows) (*Decomposition, error) {
	t := rt.Topology()
	if err := flows.Validate(t); err != nil {
		return nil, fmt.Errorf("decompose: %w", err)
	}
	n := flows.Len()
	d := &Decomposition{Routing: rt, Flows: flows, FlowPath: make([]int32, n)}
	sports := workload.Sports(flows.Src, flows.Dst)

	// Route in parallel, one chunk of flows per worker.
	workers := max(1, min(runtime.GOMAXPROCS(0), n/4096+1))
	type chunk struct {
		lo, hi int
		off    []int32 // per flow, end offset into chans
		chans  []int32
	}
	chunks := make([]chunk, workers)
	err := parallel.For(workers, workers, func(_, w int) error {
		c := &chunks[w]
		c.lo, c.hi = n*w/workers, n*(w+1)/workers
		c.off = make([]int32, c.hi-c.lo)
		c.chans = make([]int32, 0, 6*(c.hi-c.lo))
		for i := c.lo; i < c.hi; i++ {
			before := len(c.chans)
			c.chans = rt.AppendRoute(c.chans, flows.Src[i], flows.Dst[i], sports[i])
			if len(c.chans)-before > MaxPathLen {
				return fmt.Errorf("decompose: flow %d (%d -> %d) has a %d-channel path; at most %d supported",
					i, flows.Src[i], flows.Dst[i], len(c.chans)-before, MaxPathLen)
			}
			c.off[i-c.lo] = int32(len(c.chans))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	flowStart := make([]int32, n+1)
	total := 0
	for _, c := range chunks {
		if total+len(c.chans) > math.MaxInt32 {
			return nil, fmt.Errorf("decompose: %d flows cross more than %d channels in all; split the workload", n, math.MaxInt32)
		}
		for i, o := range c.off {
			flowStart[c.lo+i+1] = int32(total) + o
		}
		total += len(c.chans)
	}
	flowChans := make([]int32, 0, total)
	for _, c := range chunks {
		flowChans = append(flowChans, c.chans...)
	}

	// Paths: flows with the same channel sequence share one.
	type key struct {
		src, dst int32
		h        uint64
	}
	seed := maphash.MakeSeed()
	ids := make(map[key]int32, n/2+1)
	var spill map[string]int32 // on a hash collision, keyed by the whole sequence
	var buf []byte
	d.pathStart = []int32{0}
	fgCount := []int32{}
	for i := 0; i < n; i++ {
		ch := flowChans[flowStart[i]:flowStart[i+1]]
		buf = buf[:0]
		for _, c := range ch {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(c))
		}
		k := key{flows.Src[i], flows.Dst[i], maphash.Bytes(seed, buf)}
		p, ok := ids[k]
		if ok && !slices.Equal(d.PathChannels(int(p)), ch) {
			if spill == nil {
				spill = map[string]int32{}
			}
			p, ok = spill[string(buf)]
			if !ok {
				p = d.addPath(ch)
				spill[string(buf)] = p
				fgCount = append(fgCount, 0)
			}
		} else if !ok {
			p = d.addPath(ch)
			ids[k] = p
			fgCount = append(fgCount, 0)
		}
		d.FlowPath[i] = p
		fgCount[p]++
	}
	d.fgStart = prefix(fgCount)
	d.fgFlows = make([]int32, n)
	fill := slices.Clone(d.fgStart[:len(fgCount)])
	for i, p := range d.FlowPath {
		d.fgFlows[fill[p]] = int32(i)
		fill[p]++
	}

	// Channels: the flows on each, ascending.
	chCount := make([]int32, t.NumChannels())
	for _, c := range flowChans {
		chCount[c]++
	}
	d.chStart = prefix(chCount)
	d.chFlows = make([]int32, len(flowChans))
	d.chRec = make([]chanFlow, len(flowChans))
	fill = slices.Clone(d.chStart[:len(chCount)])
	for i := 0; i < n; i++ {
		r := chanFlow{startNs: float64(flows.StartNs[i]), size: float64(flows.Size[i]), flow: int32(i), path: d.FlowPath[i]}
		for _, c := range flowChans[flowStart[i]:flowStart[i+1]] {
			d.chFlows[fill[c]] = int32(i)
			d.chRec[fill[c]] = r
			fill[c]++
		}
	}
	return d, nil
}

func (d *Decomposition) addPath(ch []int32) int32 {
	p := int32(len(d.pathStart) - 1)
	d.pathChans = append(d.pathChans, ch...)
	d.pathStart = append(d.pathStart, int32(len(d.pathChans)))
	return p
}

func prefix(count []int32) []int32 {
	s := make([]int32, len(count)+1)
	for i, c := range count {
		s[i+1] = s[i] + c
	}
	return s
}

// NumPaths returns the number of paths with foreground flows.
func (d *Decomposition) NumPaths() int { return len(d.pathStart) - 1 }

// PathChannels returns path p's channels in order (shared; do not modify).
func (d *Decomposition) PathChannels(p int) []int32 {
	return d.pathChans[d.pathStart[p]:d.pathStart[p+1]]
}

// Foreground returns path p's foreground flows, ascending (shared).
func (d *Decomposition) Foreground(p int) []int32 {
	return d.fgFlows[d.fgStart[p]:d.fgStart[p+1]]
}

// Scenario is one path's parking lot.
type Scenario struct {
	*scenario.Path // hosts 0..L; flows in start order

	PathID      int
	Channels    []int32   // the workload channel behind parking-lot link i (host i -> i+1)
	LinkGbps    []float64 // capacity of parking-lot link i
	LinkDelayNs []int64   // propagation delay of parking-lot link i
	// Flow is the workload flow behind each scenario flow (a flow that
	// shares several separate runs of the path appears once per run);
	// Foreground tells the path's own flows (host 0 to host L).
	Flow       []int32
	Foreground []bool
}

// Scenario builds path p's parking-lot scenario.
func (d *Decomposition) Scenario(p int) (*Scenario, error) {
	s := &Scenario{}
	if err := d.ScenarioInto(p, s); err != nil {
		return nil, err
	}
	s.Name = fmt.Sprintf("path%d_nhosts%d", p, s.Hosts)
	s.ArrivalFile, s.SizeFile, s.HostFile = s.Name, s.Name, s.Name
	return s, nil
}

// ScenarioInto builds path p's parking-lot scenario into s, reusing the
// memory of s's slices (and of s.Path, which it allocates when nil), so
// that a caller building many paths allocates nothing once its buffers
// have grown. The file names of s.Path are left empty (Scenario names
// them). The flows need no checks: New validated them and every parking
// lot flow runs left to right.
func (d *Decomposition) ScenarioInto(p int, s *Scenario) error {
	if p < 0 || p >= d.NumPaths() {
		return fmt.Errorf("decompose: path %d outside 0..%d", p, d.NumPaths()-1)
	}
	t := d.Routing.Topology()
	chans := d.PathChannels(p)
	L := len(chans)
	if s.Path == nil {
		s.Path = &scenario.Path{}
	}
	sp := s.Path
	*sp = scenario.Path{Hosts: L + 1, ArrivalNs: sp.ArrivalNs[:0], SizeBytes: sp.SizeBytes[:0], Src: sp.Src[:0], Dst: sp.Dst[:0]}
	s.PathID = p
	s.Channels = append(s.Channels[:0], chans...)
	s.LinkGbps = s.LinkGbps[:0]
	s.LinkDelayNs = s.LinkDelayNs[:0]
	for _, c := range chans {
		_, _, g := t.Channel(c)
		s.LinkGbps = append(s.LinkGbps, g)
		s.LinkDelayNs = append(s.LinkDelayNs, t.Links[c/2].DelayNs)
	}
	s.Flow, s.Foreground = s.Flow[:0], s.Foreground[:0]

	// k-way merge of the channels' ascending flow lists: head[i] is the
	// next flow on channel i (math.MaxInt32 when it has no more), pos[i]
	// its record
	var head [MaxPathLen]int32
	var pos, end [MaxPathLen]int32
	for i, c := range chans {
		pos[i], end[i] = d.chStart[c], d.chStart[c+1]
		head[i] = math.MaxInt32
		if pos[i] < end[i] {
			head[i] = d.chRec[pos[i]].flow
		}
	}
	full := uint64(1)<<L - 1
	if L == 64 {
		full = ^uint64(0)
	}
	recs := d.chRec
	for {
		next := int32(math.MaxInt32)
		for _, h := range head[:L] {
			next = min(next, h)
		}
		if next == math.MaxInt32 {
			break
		}
		var mask uint64
		var r *chanFlow
		for i := range L {
			if head[i] == next {
				mask |= 1 << i
				r = &recs[pos[i]]
				pos[i]++
				head[i] = math.MaxInt32
				if pos[i] < end[i] {
					head[i] = recs[pos[i]].flow
				}
			}
		}
		if r.path == int32(p) {
			if mask != full {
				return fmt.Errorf("decompose: internal error: foreground flow %d misses channels of path %d", next, p)
			}
			s.add(r, 0, L, true)
			continue
		}
		for i := 0; i < L; {
			if mask&(1<<i) == 0 {
				i++
				continue
			}
			j := i
			for j < L && mask&(1<<j) != 0 {
				j++
			}
			s.add(r, i, j, false)
			i = j
		}
	}
	return nil
}

// add appends one parking-lot flow from host src to host dst.
func (s *Scenario) add(r *chanFlow, src, dst int, fg bool) {
	sp := s.Path
	sp.ArrivalNs = append(sp.ArrivalNs, r.startNs)
	sp.SizeBytes = append(sp.SizeBytes, r.size)
	sp.Src = append(sp.Src, int32(src))
	sp.Dst = append(sp.Dst, int32(dst))
	s.Flow = append(s.Flow, r.flow)
	s.Foreground = append(s.Foreground, fg)
}

// Sample draws n paths with probability proportional to their number of
// foreground flows, with replacement, as m3 samples the paths it
// estimates; it returns the distinct paths drawn (ascending) and how many
// times each was drawn.
func (d *Decomposition) Sample(n int, r *rand.Rand) (paths []int, draws []int) {
	if d.NumPaths() == 0 || n <= 0 {
		return nil, nil
	}
	total := d.fgStart[len(d.fgStart)-1]
	count := map[int]int{}
	for i := 0; i < n; i++ {
		u := int32(r.IntN(int(total)))
		// path whose foreground range holds u
		p := sort.Search(d.NumPaths(), func(p int) bool { return d.fgStart[p+1] > u })
		count[p]++
	}
	for p := range count {
		paths = append(paths, p)
	}
	sort.Ints(paths)
	for _, p := range paths {
		draws = append(draws, count[p])
	}
	return paths, draws
}

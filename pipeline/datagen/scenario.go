package datagen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/pktsim"
)

// Scenario is one sampled path scenario: flows, what was drawn for them, the
// configuration and the ns-3 config that encodes it.
type Scenario struct {
	Item    Item
	Name    string // folder name
	Seed    uint64 // reproduces the scenario with the spec
	Traffic *Traffic
	Config  features.Config
	NS3     string // the ns-3 config file's text
}

// seedOf returns the seed of a scenario: the spec's seed and the traffic draw S
// mixed, so that every (spec seed, S) pair gets its own streams; the path
// length picks the stream.
func (s *Spec) seedOf(it Item) uint64 {
	// splitmix64 of the two, so nearby seeds give unrelated streams.
	z := s.Seed*0x9e3779b97f4a7c15 + uint64(it.Shard) + 0x6d34
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Sample draws scenario it of the spec. It is deterministic: the same spec
// and item give the same scenario, on any machine and in any task.
func (s *Spec) Sample(it Item) (*Scenario, error) {
	seed := s.seedOf(it)
	sc := &Scenario{Item: it, Name: s.Name(it), Seed: seed}
	trafficRNG := rand.New(rand.NewPCG(seed, uint64(it.Hosts)))
	tr, err := GenerateTraffic(trafficRNG, &s.Traffic, it.Hosts, s.FlowsPerPair, s.LinkGbps)
	if err != nil {
		return nil, err
	}
	tr.Path.Name = sc.Name
	tr.Path.ArrivalFile, tr.Path.SizeFile, tr.Path.HostFile = sc.Name, sc.Name, sc.Name
	if err := tr.Path.Validate(); err != nil {
		return nil, fmt.Errorf("generated traffic: %w", err)
	}
	sc.Traffic = tr
	cfgRNG := rand.New(rand.NewPCG(seed, uint64(it.Hosts)|1<<32))
	if sc.Config, err = SampleConfig(cfgRNG, &s.Config); err != nil {
		return nil, err
	}
	sc.NS3 = pktsim.M3ConfigText(sc.Config, pktsim.M3Options{
		Hosts: it.Hosts, LinkGbps: s.LinkGbps, BaseRTTNs: s.BaseRTTNs,
		StopS: stopTime(tr.EndNs), QlenMonStartNs: 100000000000,
	})
	return sc, nil
}

// stopTime is the fork's SIMULATOR_STOP_TIME: the flow file's last line,
// "%f" of the end time in seconds, + 2, truncated.
func stopTime(endNs float64) int {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(endNs/1e9, 'f', 6, 64), 64)
	return int(math.Trunc(v + 2))
}

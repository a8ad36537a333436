package datagen

import (
	"fmt"
	"strings"
	"time"

	"github.com/m4sim/m4/pipeline/pktsim"
	"github.com/m4sim/m4/pipeline/scenario"
)

// Pktsim is m4's packet-level simulator (pipeline/pktsim, a re-implementation
// of the HPCC ns-3 fork) as datagen's ground truth: it reads the scenario's
// ns-3 config text, runs the flows on the built-in parking lot topo-pl-H, and
// reports FCTs and the fork's ideal FCTs. A run past MaxWallSeconds or
// MaxEvents (0: no limit) fails with a budget error.
type Pktsim struct {
	MaxWallSeconds float64
	MaxEvents      uint64
}

// Name implements Simulator.
func (Pktsim) Name() string { return "pktsim" }

// Simulate implements Simulator.
func (s Pktsim) Simulate(p *scenario.Path, ns3Config string) (*GroundTruth, error) {
	cfg, err := pktsim.ParseConfig(p.Name+"/config", strings.NewReader(ns3Config))
	if err != nil {
		return nil, err
	}
	topo, err := pktsim.ParkingLot(p.Hosts)
	if err != nil {
		return nil, err
	}
	flows, err := pktsim.FlowsFromPath(p)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	res, err := pktsim.SimulateWith(cfg, topo, flows, pktsim.Options{MaxWallSeconds: s.MaxWallSeconds, MaxEvents: s.MaxEvents})
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	n := p.Len()
	gt := &GroundTruth{FCTNs: make([]float64, n), IdealNs: make([]float64, n), StartNs: make([]float64, n)}
	for i := 0; i < n; i++ {
		if res.FCTNs[i] < 0 {
			return nil, fmt.Errorf("flow %d did not finish before SIMULATOR_STOP_TIME", i)
		}
		gt.FCTNs[i] = float64(res.FCTNs[i])
		gt.IdealNs[i] = float64(res.IdealNs[i])
		gt.StartNs[i] = float64(flows.StartNs[i])
	}
	st := res.Stats
	gt.Log = fmt.Sprintf("m4 pktsim: %s, CC_MODE %d, %d flows on topo-pl-%d\n"+
		"events %d, packets %d, ECN marks %d, PFC pauses %d, drops %d, simulated until %d ns\n"+
		"wall %.3f s\n", p.Name, cfg.CCMode, n, p.Hosts, st.Events, st.Packets, st.ECNMarks, st.PFCPauses, st.Drops, st.EndNs,
		wall.Seconds())
	return gt, nil
}

package bindings

import "errors"

// PathConfig describes a parking-lot path for Flowsim: Hosts hosts in a line,
// the two end links at EdgeGbps, the inner ones at CoreGbps, every flow capped
// at FlowCapGbps, and each packet of PayloadBytes carrying HeaderBytes more.
type PathConfig struct {
	Hosts        int
	EdgeGbps     float64
	CoreGbps     float64
	FlowCapGbps  float64
	PayloadBytes float64
	HeaderBytes  float64
}

// DefaultPathConfig returns m3's parking-lot constants for a path of h hosts:
// 10 Gbit/s edge links and flow cap, 40 Gbit/s inner links, 1000 B payload and
// 48 B of headers per packet.
func DefaultPathConfig(h int) PathConfig {
	return PathConfig{Hosts: h, EdgeGbps: 10, CoreGbps: 40, FlowCapGbps: 10, PayloadBytes: 1000, HeaderBytes: 48}
}

// FlowsimStats counts the work of one Flowsim run.
type FlowsimStats struct {
	Events     uint64 // arrivals + completions
	RateSolves uint64 // max-min solves
	MaxActive  uint64 // most flows active at once
}

// ErrNoFlows is the error of an empty scenario: no flows to simulate,
// build features of, or estimate.
var ErrNoFlows = errors.New("no flows: an empty scenario has nothing to simulate or estimate")

package bindings

import "errors"

// PathConfig describes a parking-lot path for Flowsim: Hosts hosts in a line,
// the two end links at EdgeGbps, the inner ones at CoreGbps, every flow capped
// at FlowCapGbps, and each packet of PayloadBytes carrying HeaderBytes more
// (m4_path_config). DefaultPathConfig gives m3's constants.
type PathConfig struct {
	Hosts        int
	EdgeGbps     float64
	CoreGbps     float64
	FlowCapGbps  float64
	PayloadBytes float64
	HeaderBytes  float64
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

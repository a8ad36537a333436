package pktsim

import "github.com/m4sim/m4/pipeline/cc"

// TemplateConfig returns a config in the shape the m3 generator
// (simulation/run_m3.py of the HPCC fork) writes for algorithm a, with the CC-specific parameters at typical values
// of the reference scenarios: 10 Gbps hosts and 40 Gbps inner links,
// BUFFER_SIZE 400 KiB, FIXED_WIN 15000 B, BASE_RTT 14400 ns. Callers (data
// generators, benchmarks, tests) adjust fields and write it with
// WriteConfigFile. The *_FILE keys are left empty.
func TemplateConfig(a cc.CC) (*Config, error) {
	c := DefaultConfig()
	c.EnableQCN = true
	c.EnablePFC = true
	c.UseDynamicPFCThreshold = true
	c.PacketPayloadSize = 1000
	c.SimulatorStopTime = 4
	c.AlphaResumeInterval = 1
	c.RateDecreaseInterval = 4
	c.ClampTargetRate = false
	c.RPTimer = 300
	c.EWMAGain = 0.00390625
	c.FastRecoveryTimes = 1
	c.MinRate = 1000e6
	c.MaxRate = 10000e6
	c.DCTCPRateAI = 1000e6
	c.TimelyTHigh = 50000
	c.TimelyTLow = 10000
	c.TimelyBeta = 0.8
	c.L2ChunkSize = 4000
	c.L2AckInterval = 1
	c.L2BackToZero = false
	c.HasWin = 1
	c.GlobalT = 1
	c.VarWin = true
	c.FastReact = false
	c.UTarget = 0.95
	c.MIThresh = 0
	c.INTMulti = 1
	c.MultiRate = false
	c.SampleFeedback = false
	c.RateBound = true
	c.EnableTrace = 0
	c.BufferSize = 400
	c.QlenMonStart = 1000000000
	c.QlenMonEnd = 3000000000
	c.FixedWin = 15000
	c.BaseRTT = 14400
	ecn := func(kmin, kmax uint32, pmax float64) {
		c.KminMap = []KMapEntry{{10e9, kmin}, {40e9, 4 * kmin}}
		c.KmaxMap = []KMapEntry{{10e9, kmax}, {40e9, 4 * kmax}}
		c.PmaxMap = []PMapEntry{{10e9, pmax}, {40e9, pmax}}
	}
	c.CCMode = a.Mode()
	switch a {
	case cc.DCQCN:
		c.RateAI, c.RateHAI = 2e6, 20e6
		c.HasWin, c.VarWin = 0, false
		c.AckHighPrio = 1
		ecn(14, 32, 0.2)
	case cc.HPCC:
		c.RateAI, c.RateHAI = 750e6, 750e6
		c.FastReact = true
		c.UTarget = 0.9
		c.EnablePFC = false
		ecn(4, 16, 0.2)
	case cc.TIMELY:
		c.RateAI, c.RateHAI = 10e6, 50e6
		c.TimelyTLow, c.TimelyTHigh = 50000, 125000
		c.AckHighPrio = 1
		c.EnablePFC = false
		ecn(4, 16, 0.2)
	case cc.DCTCP:
		c.RateAI, c.RateHAI = 10e6, 10e6
		c.DCTCPRateAI = 615e6
		c.EWMAGain = 0.0625
		c.AckHighPrio = 1
		c.EnablePFC = false
		ecn(12, 12, 1)
	default:
		return nil, &cc.UnknownError{Name: string(a)}
	}
	return &c, nil
}

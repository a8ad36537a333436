// Package pktsim runs m4's packet-level simulator: native/pktsim*.c, a
// re-implementation of the HPCC ns-3 fork (branch m3) that produced m4's
// ground truth. It reads and writes the fork's files (config_*.txt, ns-3
// topology and flow files, fct.txt) and reproduces the fork's FCTs to the
// nanosecond for DCQCN, HPCC, TIMELY and DCTCP (docs/pktsim.md lists the
// semantics; docs/accuracy.md the validation on all 930 reference
// scenarios and the 8 shared whole-fabric runs).
//
// # Running a path scenario (what datagen's Pktsim does)
//
//	cfg, err := pktsim.ParseConfig(name, strings.NewReader(configText)) // config_*.txt text
//	topo, err := pktsim.ParkingLot(path.Hosts)                          // topo-pl-H; path: *scenario.Path
//	flows, err := pktsim.FlowsFromPath(path)
//	res, err := pktsim.SimulateWith(cfg, topo, flows, pktsim.Options{MaxWallSeconds: 60})
//	fct := res.FCTClamped() // float64 ns, path order, = reference fct_*.npy values
//	ideal := res.IdealNs    // the fork's ideal FCT (fct_i), int64 ns
//
// FlowsFromPath gives the flows ids 0..n-1, priority group 3, port 100 and
// their start time through the m3 generator's "%.9f" seconds, as in the
// reference. Errors name the config's line and key, or the flow; a run that
// cannot finish (budget) returns an error matching bindings.ErrBudget.
//
// # Building a configuration in Go
//
//	cfg, _ := pktsim.TemplateConfig(cc.DCQCN) // run_m3.py's template, typical values
//	cfg.BufferSize = 300                      // KiB (x1024 bytes)
//	cfg.KminMap = []pktsim.KMapEntry{{Rate: 10e9, KB: 20}, {Rate: 40e9, KB: 80}}
//	err := pktsim.WriteConfigFile("config_topo-pl-5_flows_s7.txt", cfg) // config_*.txt format
//	text := cfg.Format()                                               // the same as a string
//
// Config has one field per key of the fork's config files; ParseConfig and
// Format round-trip. DefaultConfig holds the fork's values for keys a file
// leaves out: libm4's (m4_pktsim_config_default) for the keys the simulator
// reads, this package's for the rest.
//
// The config m3's generator (run_m3.py) writes for a configuration record
// (features.Config), as m4's training data runs it:
//
//	cfg, err := pktsim.M3Config(rec, pktsim.M3Options{LinkGbps: 10, BaseRTTNs: 14400, StopS: 4})
//	text := pktsim.M3ConfigText(rec, pktsim.M3Options{Hosts: 5, ...}) // the file, byte for byte
//
// # General topologies and files
//
//	cfg, _ := pktsim.ParseConfigFile("config.txt")
//	topo, _ := pktsim.ParseTopologyFile("topo.txt") // or ParkingLot(h), Fabric(spec), FromWorkload(t)
//	flows, _ := pktsim.ParseFlowFile("flow.txt")    // or NS3Flows.Add, FlowsFromPath
//	res, err := pktsim.Simulate(cfg, topo, flows)   // SimulateWith for budgets and traces
//	pktsim.WriteFCTText("fct.txt", flows, res)      // the fork's fct.txt
//
// A fork run as its users hold it (a config naming its topology and flow
// files, read beside it; the fork's fct.txt):
//
//	run, _ := pktsim.LoadForkRun("fab1/config.txt", "", "")
//	res, err := run.Run(pktsim.Options{})
//	fork, _ := pktsim.ReadFCTFile(run.FCTFile, run.Flows) // flow-file order
//
// Shard folders: LoadShard / RunShard; comparison with ns-3: CompareShard,
// ValidateShards, WriteTable, and for fork runs CompareRun, ValidateRuns,
// WriteRunTable (m4 pktsim --validate). Benchmarks: Bench,
// BenchShards, Fabric, PoissonWorkload, RepeatFlows (m4 bench pktsim).
//
// Every simulator object is independent (no shared state), so scenarios can
// run in parallel, one per goroutine.
package pktsim

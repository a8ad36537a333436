// Package cc owns m4's congestion-control algorithms: their names and order,
// the parsing of a name, each algorithm's parameters with their defaults,
// and the two forms a configuration takes, with conversions between them:
//
//   - Spec, the cc: section of a workload spec (YAML/JSON keys, float
//     values, zero meaning "the default");
//   - Record, the configuration as m3 records it in param_*.txt and the
//     model reads it (integers in m3's units).
//
// Every other package asks this one: features encodes a Record, workload
// reads a Spec, datagen draws Records, pktsim and ns3 map CC_MODE numbers,
// dataset and eval iterate All.
//
// # Two sets of defaults
//
// The HPCC ns-3 fork's run_m3.py draws the parameters of the algorithm a
// scenario runs and writes its argparse defaults for the other three (DCTCP
// K 20, DCQCN Kmin/Kmax 10/40, HPCC eta 0.95 and AI 25 Mb/s, TIMELY
// 10000/50000 ns); the reference data's param_*.txt and config files hold
// exactly these. NewRecord fills them in, so that m4's files match the
// fork's byte for byte. They never reach the model (the configuration
// vector zeroes the parameters of the algorithms not in use), and for the
// algorithm in use they lie outside the ranges run_m3.py draws from (HPCC
// AI 25 against [500, 1000]).
//
// A spec that names an algorithm but not its parameters gets DefaultSpec's
// instead (DCQCN 20/50, HPCC 0.95 and 500 Mb/s, TIMELY 50000/120000 ns):
// values inside m3's sampled ranges, so that a default workload is one the
// model was trained on, which is what a user leaving them out expects.
//
// The package is public (not internal) because features.Config and
// workload.Spec expose its types to users of those packages.
package cc

// Package netdata makes training data from whole networks, the way m4 is
// used (m4 datagen --from-workload; pipeline/datagen makes parking lots):
// it draws whole datacenter workloads (fabric or fat-tree topologies, flow sizes,
// arrivals, traffic matrices, loads and congestion-control configurations
// from a spec's ranges), simulates each one packet by packet on its whole
// topology (pipeline/truth: m4's re-implementation of the
// HPCC ns-3 fork), splits it into paths as m4 run does (pipeline/decompose),
// draws paths in proportion to their flows (what a flow sees), and
// writes every drawn path as a shard folder in the reference layout
// (pipeline/datagen.WriteShard): the parking lot's flows, flowsim's FCTs,
// the configuration, and as ground truth the FCTs the whole-network run gave
// the path's own (foreground) flows.
//
// Why: m3's synthetic parking lots (pipeline/datagen) have hundreds of
// foreground flows each and background traffic drawn per path; paths cut
// from a datacenter workload have one or a few foreground flows and the
// background of the real network. A model that estimates whole workloads
// must see such paths (see pipeline/train's quantile loss).
//
// Runs are resumable and split over array jobs like datagen's: workload W
// is finished when DIR/workloads/wl{W}.json exists; its path folders are
// built in a partial folder and moved into place before that file is
// written, and a rerun redoes an unfinished workload from scratch.
package netdata

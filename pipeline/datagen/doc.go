// Package datagen makes training data for m4 the way m3's data was made: it
// samples parking-lot path scenarios from a spec (traffic as the HPCC ns-3
// fork's traffic_gen_synthetic.py draws it, a congestion-control
// configuration as its run_m3.py draws it), runs flowsim and a packet-level
// simulator on each, and writes every scenario in the reference layout
// (fat/fsize/fsd.npy, fid/fct/fct_i, fct_flowsim, feat_*.npz, param_*.txt and
// .npy, config_*.txt, pdrop_*.txt, stats.npy and stats.json), so m3's own
// loaders read it too.
//
// Runs are resumable and can be split over a cluster's array job: a finished
// scenario is a folder that exists (it is built under a partial name and
// renamed into place only when complete), and task i of N makes the i-th of N
// contiguous, equal blocks of the scenarios.
package datagen

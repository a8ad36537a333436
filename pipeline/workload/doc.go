// Package workload builds datacenter workloads: the network (Meta-style
// fabric clusters, k-ary fat-trees, or an ns-3 topology file), the routing
// model (ECMP over equal-cost shortest paths, picked per flow by the ns-3
// fork's switch hash), and the flows (sizes from published distributions,
// Poisson or lognormal arrivals scaled so the busiest link reaches a target
// load, source and destination from a rack-to-rack traffic matrix).
//
// A workload is what a user asks m4 about: the whole datacenter. The
// decompose stage splits it into the path-level scenarios that flowsim and
// the model consume. Everything here is deterministic for a seed.
//
// Conventions, as everywhere in m4: node ids are ns-3's (hosts first in the
// generated topologies), time in ns, sizes in payload bytes, rates in Gbit/s.
// The load of a link is the payload bits offered to it per second over its
// capacity, as in Parsimon's and m3's workload generators; Summary also
// reports it with the 48 B per 1000 B packet headers added.
package workload

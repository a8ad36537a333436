// Package dynamics trains and runs m4's flow-level dynamics model (Li et
// al., "m4: Modeling Flow-level Network Dynamics from Data"; the native
// model is m4_dyn_* in m4.h, bound by bindings.Dyn): per-flow and per-link
// GRU states updated at every flow arrival and departure by GraphSAGE layers
// over the active flows and the links they cross, trained on packet-level
// traces (dynamics.npz: each flow's FCT, each active flow's remaining bytes
// and each link's queue after every event).
//
// Train runs AdamW over the traces in windows of events (truncated
// backpropagation through time), one checkpoint per epoch, resumable bit
// for bit. A checkpoint is a safetensors file (Save, Load) with a markdown
// card beside it (WriteCard). Estimate runs the model's event loop over a
// workload: no trace, every flow's FCT predicted. The tests make traces by
// max-min fair sharing (Fluid, in fluid_test.go), an analytic stand-in for
// packet-level data.
package dynamics

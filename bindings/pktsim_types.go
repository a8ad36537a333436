package bindings

// PktsimConfig is m4_pktsim_config: one packet-level run's configuration,
// the HPCC ns-3 fork's config keys as plain numbers (integer bit/s, ns, KB as
// the fork counts them). DefaultPktsimConfig gives the fork's defaults.
type PktsimConfig struct {
	CCMode         int    // CC_MODE: 1 DCQCN, 3 HPCC, 7 TIMELY, 8 DCTCP
	PayloadBytes   uint32 // PACKET_PAYLOAD_SIZE
	EnablePFC      bool   // ENABLE_PFC
	AckHighPrio    bool   // ACK_HIGH_PRIO
	HasWin         bool   // HAS_WIN
	VarWin         bool   // VAR_WIN
	FixedWinBytes  uint32 // FIXED_WIN
	BaseRTTNs      uint64 // BASE_RTT
	RateBound      bool   // RATE_BOUND
	L2ChunkSize    uint32 // L2_CHUNK_SIZE
	L2AckInterval  uint32 // L2_ACK_INTERVAL
	L2BackToZero   bool   // L2_BACK_TO_ZERO
	NackIntervalUs float64

	AlphaResumeIntervalUs  float64 // ALPHA_RESUME_INTERVAL
	RateDecreaseIntervalUs float64 // RATE_DECREASE_INTERVAL
	RPTimerUs              float64 // RP_TIMER
	EWMAGain               float64 // EWMA_GAIN
	FastRecoveryTimes      uint32  // FAST_RECOVERY_TIMES
	ClampTargetRate        bool    // CLAMP_TARGET_RATE
	RateOnFirstCNP         float64
	RateAIBps              uint64 // RATE_AI
	RateHAIBps             uint64 // RATE_HAI
	MinRateBps             uint64 // MIN_RATE
	MaxRateBps             uint64 // MAX_RATE
	DCTCPRateAIBps         uint64 // DCTCP_RATE_AI

	UTarget        float64 // U_TARGET
	MIThresh       uint32  // MI_THRESH
	FastReact      bool    // FAST_REACT
	MultiRate      bool    // MULTI_RATE
	SampleFeedback bool    // SAMPLE_FEEDBACK
	INTMulti       uint32  // INT_MULTI

	TimelyTLowNs   uint64  // TIMELY_T_LOW
	TimelyTHighNs  uint64  // TIMELY_T_HIGH
	TimelyBeta     float64 // TIMELY_BETA
	TimelyAlpha    float64
	TimelyMinRTTNs uint64

	BufferSizeKB uint32 // BUFFER_SIZE (x1024 bytes)
	PauseTimeUs  uint32 // PAUSE_TIME
	ECN          []ECNEntry

	StopTimeNs      uint64  // SIMULATOR_STOP_TIME
	IdealRateCapBps uint64  // the fork caps the ideal FCT's rate at 10 Gbps
	RNGStreamBase   uint64  // ns-3 RNG stream index of the first random draw
	MaxEvents       uint64  // event budget, 0 = none
	MaxWallSeconds  float64 // wall-clock budget, 0 = none
	QlenIntervalNs  uint64  // queue-length sampling period, 0 = no trace
	QlenStartNs     uint64
	QlenEndNs       uint64
	// Trace records the dynamics trace (m4_pktsim_set_trace): the active
	// flows' remaining bytes and the switch queues at every flow arrival and
	// departure, in PktsimResult.Trace. It leaves the FCTs as they are.
	Trace bool
	// Progress, when set, is called during Run about every
	// ProgressEveryEvents events (0: 2^20) with the flows finished so far,
	// the flows of the run and the simulated time, on Run's goroutine.
	Progress            func(done, total int, nowNs int64)
	ProgressEveryEvents uint64
}

// ECNEntry is one link rate's marking thresholds (KMIN_MAP, KMAX_MAP,
// PMAX_MAP): Kmin and Kmax in KB (x1000 bytes).
type ECNEntry struct {
	RateBps uint64
	KminKB  uint32
	KmaxKB  uint32
	Pmax    float64
}

// MaxECNEntries is M4_PKTSIM_MAX_RATES.
const MaxECNEntries = 16

// PktsimTopology is a network in the ns-3 topology file's terms: nodes
// 0..len(IsSwitch)-1 and full-duplex links. Each node's devices are numbered
// from 1 in link order.
type PktsimTopology struct {
	IsSwitch  []bool
	LinkA     []int32
	LinkB     []int32
	RateBps   []uint64
	DelayNs   []uint64
	ErrorRate []float64 // per-packet loss probability per link (nil = none)
}

// PktsimFlows are flows in the order of an ns-3 flow file (start ascending).
type PktsimFlows struct {
	ID        []uint32
	Src, Dst  []int32 // host node ids
	PG        []uint16
	DPort     []uint16
	SizeBytes []uint64
	StartNs   []uint64
}

// Len returns the number of flows.
func (f *PktsimFlows) Len() int { return len(f.ID) }

// PktsimResult is the outcome of one run, per flow in input order.
type PktsimResult struct {
	FCTNs   []int64  // last byte at the receiver minus start
	IdealNs []int64  // the fork's ideal FCT of the flow alone
	SPort   []uint16 // source port the fork assigns
	Order   []uint32 // flow indices in completion order
	Stats   PktsimStats
	PFC     []PFCEvent
	Qlen    *QlenHist    // nil unless QlenIntervalNs > 0
	Trace   *PktsimTrace // nil unless PktsimConfig.Trace
}

// PktsimTrace is m4_pktsim_trace copied into Go: per event (a flow's
// arrival or departure, in simulation order) the flows active right after
// it with their remaining bytes (size minus bytes acknowledged), and the
// directed links (ids as in PktsimLinks) with bytes queued, in CSR form:
// event e's active flows are ActiveFlow[ActivePtr[e]:ActivePtr[e+1]], its
// queues QueueLink[QueuePtr[e]:QueuePtr[e+1]].
type PktsimTrace struct {
	TimeNs          []int64
	Kind            []int8 // 0 arrival, 1 departure
	Flow            []int32
	ActivePtr       []int64 // len(TimeNs) + 1
	ActiveFlow      []int32
	ActiveRemaining []float32
	QueuePtr        []int64 // len(TimeNs) + 1
	QueueLink       []int32
	QueueBytes      []float32
}

// PktsimLinks is the directed link table: topology link l is link 2l from
// LinkA[l] to LinkB[l] and 2l+1 back.
type PktsimLinks struct {
	From, To []int32
	RateBps  []uint64
	DelayNs  []uint64
}

// PktsimStats counts the work of a run.
type PktsimStats struct {
	Events, Packets, ECNMarks, PFCPauses, Drops, EndNs uint64
	MaxPending                                         uint64 // most events pending at once
}

// PFCEvent is a PAUSE (Pause) or RESUME frame received by a device.
type PFCEvent struct {
	TimeNs   uint64
	Node     int32
	NodeType int32 // 0 host, 1 switch
	IfIndex  int32
	Pause    bool
}

// QlenHist is, per switch port, how many samples saw k KB queued.
type QlenHist struct {
	Node, IfIndex []int32
	KB            int      // histogram bins per port
	Counts        []uint64 // len(Node) * KB
}

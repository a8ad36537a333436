package datagen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// The fork saves its stats dict with numpy.save, which pickles a 0-d object
// array holding the dict. encodeStatsNPY writes the same structure (pickle
// protocol 3) with plain Python values inside, so np.load(...,
// allow_pickle=True).item() returns the dict m3's code expects.

// pickler writes pickle protocol 3 opcodes.
type pickler struct{ b bytes.Buffer }

func (p *pickler) op(c byte) { p.b.WriteByte(c) }
func (p *pickler) global(mod, name string) {
	p.op('c')
	p.b.WriteString(mod + "\n" + name + "\n")
}
func (p *pickler) str(s string) {
	p.op('X') // BINUNICODE
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	p.b.Write(n[:])
	p.b.WriteString(s)
}
func (p *pickler) int(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		p.op('J') // BININT
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(int32(v)))
		p.b.Write(n[:])
		return
	}
	p.op('L') // LONG, text form
	p.b.WriteString(fmt.Sprintf("%dL\n", v))
}
func (p *pickler) float(v float64) {
	p.op('G') // BINFLOAT, big-endian
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], math.Float64bits(v))
	p.b.Write(n[:])
}
func (p *pickler) bytes(v []byte) {
	p.op('C') // SHORT_BINBYTES
	p.b.WriteByte(byte(len(v)))
	p.b.Write(v)
}

// dtype pickles numpy.dtype(name) with the state numpy writes for it.
func (p *pickler) dtypeObject() {
	p.global("numpy", "dtype")
	p.str("O8")
	p.op(0x89) // False
	p.op(0x88) // True
	p.op(0x87) // TUPLE3
	p.op('R')
	p.op('(')
	p.int(3)
	p.str("|")
	p.op('N')
	p.op('N')
	p.op('N')
	p.int(-1)
	p.int(-1)
	p.int(63)
	p.op('t')
	p.op('b') // BUILD
}

// encodeStatsNPY returns the .npy image of the fork's stats dict.
func encodeStatsNPY(s *Stats) []byte {
	var p pickler
	p.op(0x80) // PROTO 3
	p.op(3)
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray")
	p.int(0)
	p.op(0x85) // TUPLE1
	p.bytes([]byte("b"))
	p.op(0x87)
	p.op('R')
	// state: (1, (), dtype('O'), False, [dict])
	p.op('(')
	p.int(1)
	p.op(')')
	p.dtypeObject()
	p.op(0x89)
	p.op(']')
	p.op('}')
	p.op('(')
	p.str("n_flows")
	p.int(int64(s.NFlows))
	p.str("ratio")
	p.float(s.Ratio)
	p.str("n_flows_foreground")
	p.int(int64(s.NFlowsForeground))
	p.str("load_bottleneck_target")
	p.float(s.LoadBottleneckTarget)
	p.str("host_pair_list")
	p.op(']')
	p.op('(')
	for _, hp := range s.HostPairList {
		p.int(int64(hp[0]))
		p.int(int64(hp[1]))
		p.op(0x86) // TUPLE2
	}
	p.op('e') // APPENDS
	p.str("load_candidate")
	p.float(s.LoadCandidate)
	p.str("size_dist_candidate")
	p.str(s.SizeDistCandidate)
	p.str("size_sigma_candidate")
	p.float(s.SizeSigmaCandidate)
	p.str("ias_sigma_candidate")
	p.float(s.IASSigmaCandidate)
	p.op('u') // SETITEMS
	p.op('a') // APPEND
	p.op('t')
	p.op('b')
	p.op('.')

	hdr := "{'descr': '|O', 'fortran_order': False, 'shape': (), }"
	total := 10 + len(hdr) + 1
	hdr += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var out bytes.Buffer
	out.WriteString("\x93NUMPY\x01\x00")
	var n [2]byte
	binary.LittleEndian.PutUint16(n[:], uint16(len(hdr)))
	out.Write(n[:])
	out.WriteString(hdr)
	out.Write(p.b.Bytes())
	return out.Bytes()
}

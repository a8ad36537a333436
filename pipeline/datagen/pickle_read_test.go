package datagen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
)

// The tests' reader of stats.npy: it checks that what encodeStatsNPY writes
// (and the reference files the fork wrote) decode to the same Stats.

// ReadStatsNPY reads a stats.npy written by the fork (or by m4): a pickled
// 0-d object array holding the stats dict. Only the opcodes and numpy
// reconstructors such a file uses are understood; anything else is an error,
// never code run.
func ReadStatsNPY(path string) (*Stats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := decodeStatsNPY(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func decodeStatsNPY(b []byte) (*Stats, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("not an .npy file")
	}
	var hl, off int
	switch b[6] {
	case 1:
		hl, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, fmt.Errorf("truncated header")
		}
		hl, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf("unknown .npy version %d", b[6])
	}
	if off+hl > len(b) {
		return nil, fmt.Errorf("truncated header")
	}
	if hdr := string(b[off : off+hl]); !strings.Contains(hdr, "'|O'") || !strings.Contains(hdr, "'shape': ()") {
		return nil, fmt.Errorf("header %q: want a 0-d object array", strings.TrimSpace(hdr))
	}
	v, err := unpickle(b[off+hl:])
	if err != nil {
		return nil, err
	}
	arr, ok := v.(*pyArray)
	if !ok || len(arr.items) != 1 {
		return nil, fmt.Errorf("pickle holds %T, want a 0-d object array", v)
	}
	d, ok := arr.items[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("array holds %T, want a dict", arr.items[0])
	}
	return statsFromDict(d)
}

func statsFromDict(d map[string]any) (*Stats, error) {
	var s Stats
	num := func(key string) (float64, error) {
		switch v := d[key].(type) {
		case float64:
			return v, nil
		case int64:
			return float64(v), nil
		case nil:
			return 0, fmt.Errorf("stats: no %q", key)
		default:
			return 0, fmt.Errorf("stats: %q is %T, want a number", key, v)
		}
	}
	fields := []struct {
		key string
		f   *float64
	}{{"ratio", &s.Ratio}, {"load_bottleneck_target", &s.LoadBottleneckTarget}, {"load_candidate", &s.LoadCandidate},
		{"size_sigma_candidate", &s.SizeSigmaCandidate}, {"ias_sigma_candidate", &s.IASSigmaCandidate}}
	for _, f := range fields {
		v, err := num(f.key)
		if err != nil {
			return nil, err
		}
		*f.f = v
	}
	for key, p := range map[string]*int{"n_flows": &s.NFlows, "n_flows_foreground": &s.NFlowsForeground} {
		v, err := num(key)
		if err != nil {
			return nil, err
		}
		*p = int(v)
	}
	name, ok := d["size_dist_candidate"].(string)
	if !ok {
		return nil, fmt.Errorf("stats: size_dist_candidate is %T, want a string", d["size_dist_candidate"])
	}
	s.SizeDistCandidate = name
	list, ok := d["host_pair_list"].([]any)
	if !ok {
		return nil, fmt.Errorf("stats: host_pair_list is %T, want a list", d["host_pair_list"])
	}
	for i, e := range list {
		tup, ok := e.(pyTuple)
		if !ok || len(tup) != 2 {
			return nil, fmt.Errorf("stats: host_pair_list[%d] is not a pair", i)
		}
		a, ok1 := tup[0].(int64)
		c, ok2 := tup[1].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("stats: host_pair_list[%d] is not a pair of integers", i)
		}
		s.HostPairList = append(s.HostPairList, [2]int{int(a), int(c)})
	}
	return &s, nil
}

// Values of the restricted unpickler.
type (
	pyTuple  []any
	pyGlobal struct{ mod, name string }
	pyDtype  struct {
		name string
		big  bool // byte order '>'
	}
	pyArray struct{ items []any }
	pyMark  struct{}
)

// unpickle runs the pickle program b with the opcodes of numpy's object
// arrays of plain values and numpy scalars.
func unpickle(b []byte) (any, error) {
	var stack []any
	memo := map[uint32]any{}
	pos := 0
	need := func(n int) ([]byte, error) {
		if pos+n > len(b) {
			return nil, fmt.Errorf("pickle truncated at byte %d", pos)
		}
		v := b[pos : pos+n]
		pos += n
		return v, nil
	}
	pop := func() (any, error) {
		if len(stack) == 0 {
			return nil, fmt.Errorf("pickle stack underflow at byte %d", pos)
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	popMark := func() ([]any, error) {
		for i := len(stack) - 1; i >= 0; i-- {
			if _, ok := stack[i].(pyMark); ok {
				items := append([]any(nil), stack[i+1:]...)
				stack = stack[:i]
				return items, nil
			}
		}
		return nil, fmt.Errorf("pickle: no mark at byte %d", pos)
	}
	for {
		opb, err := need(1)
		if err != nil {
			return nil, err
		}
		op := opb[0]
		switch op {
		case 0x80: // PROTO
			if _, err := need(1); err != nil {
				return nil, err
			}
		case 'c': // GLOBAL
			end := bytes.IndexByte(b[pos:], '\n')
			if end < 0 {
				return nil, fmt.Errorf("pickle truncated in GLOBAL")
			}
			mod := string(b[pos : pos+end])
			pos += end + 1
			end = bytes.IndexByte(b[pos:], '\n')
			if end < 0 {
				return nil, fmt.Errorf("pickle truncated in GLOBAL")
			}
			name := string(b[pos : pos+end])
			pos += end + 1
			g := pyGlobal{mod, name}
			switch g {
			case pyGlobal{"numpy.core.multiarray", "_reconstruct"}, pyGlobal{"numpy", "ndarray"},
				pyGlobal{"numpy", "dtype"}, pyGlobal{"numpy.core.multiarray", "scalar"}:
			default:
				return nil, fmt.Errorf("pickle refers to %s.%s, which a stats file does not need", mod, name)
			}
			stack = append(stack, g)
		case 'q': // BINPUT
			k, err := need(1)
			if err != nil {
				return nil, err
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("pickle: BINPUT on an empty stack")
			}
			memo[uint32(k[0])] = stack[len(stack)-1]
		case 'r': // LONG_BINPUT
			k, err := need(4)
			if err != nil {
				return nil, err
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("pickle: LONG_BINPUT on an empty stack")
			}
			memo[binary.LittleEndian.Uint32(k)] = stack[len(stack)-1]
		case 'h', 'j': // BINGET, LONG_BINGET
			var key uint32
			if op == 'h' {
				k, err := need(1)
				if err != nil {
					return nil, err
				}
				key = uint32(k[0])
			} else {
				k, err := need(4)
				if err != nil {
					return nil, err
				}
				key = binary.LittleEndian.Uint32(k)
			}
			v, ok := memo[key]
			if !ok {
				return nil, fmt.Errorf("pickle: memo %d unset", key)
			}
			stack = append(stack, v)
		case 'K', 'M', 'J': // BININT1, BININT2, BININT
			var v int64
			switch op {
			case 'K':
				k, err := need(1)
				if err != nil {
					return nil, err
				}
				v = int64(k[0])
			case 'M':
				k, err := need(2)
				if err != nil {
					return nil, err
				}
				v = int64(binary.LittleEndian.Uint16(k))
			default:
				k, err := need(4)
				if err != nil {
					return nil, err
				}
				v = int64(int32(binary.LittleEndian.Uint32(k)))
			}
			stack = append(stack, v)
		case 'G': // BINFLOAT
			k, err := need(8)
			if err != nil {
				return nil, err
			}
			stack = append(stack, math.Float64frombits(binary.BigEndian.Uint64(k)))
		case 'X': // BINUNICODE
			k, err := need(4)
			if err != nil {
				return nil, err
			}
			s, err := need(int(binary.LittleEndian.Uint32(k)))
			if err != nil {
				return nil, err
			}
			stack = append(stack, string(s))
		case 'C': // SHORT_BINBYTES
			k, err := need(1)
			if err != nil {
				return nil, err
			}
			s, err := need(int(k[0]))
			if err != nil {
				return nil, err
			}
			stack = append(stack, append([]byte(nil), s...))
		case '(':
			stack = append(stack, pyMark{})
		case ')':
			stack = append(stack, pyTuple{})
		case ']':
			stack = append(stack, []any{})
		case '}':
			stack = append(stack, map[string]any{})
		case 'N':
			stack = append(stack, nil)
		case 0x88, 0x89:
			stack = append(stack, op == 0x88)
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(stack) < n {
				return nil, fmt.Errorf("pickle stack underflow at byte %d", pos)
			}
			t := append(pyTuple(nil), stack[len(stack)-n:]...)
			stack = append(stack[:len(stack)-n], t)
		case 't':
			items, err := popMark()
			if err != nil {
				return nil, err
			}
			stack = append(stack, pyTuple(items))
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, err := pop()
				if err != nil {
					return nil, err
				}
				items = []any{v}
			} else if items, err = popMark(); err != nil {
				return nil, err
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("pickle: append to nothing")
			}
			l, ok := stack[len(stack)-1].([]any)
			if !ok {
				return nil, fmt.Errorf("pickle: append to a %T", stack[len(stack)-1])
			}
			stack[len(stack)-1] = append(l, items...)
		case 'u': // SETITEMS
			items, err := popMark()
			if err != nil {
				return nil, err
			}
			if len(stack) == 0 || len(items)%2 != 0 {
				return nil, fmt.Errorf("pickle: bad SETITEMS")
			}
			d, ok := stack[len(stack)-1].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("pickle: SETITEMS on a %T", stack[len(stack)-1])
			}
			for i := 0; i < len(items); i += 2 {
				k, ok := items[i].(string)
				if !ok {
					return nil, fmt.Errorf("pickle: dict key %T, want a string", items[i])
				}
				d[k] = items[i+1]
			}
		case 'R': // REDUCE
			args, err := pop()
			if err != nil {
				return nil, err
			}
			fn, err := pop()
			if err != nil {
				return nil, err
			}
			v, err := reduce(fn, args)
			if err != nil {
				return nil, err
			}
			stack = append(stack, v)
		case 'b': // BUILD
			state, err := pop()
			if err != nil {
				return nil, err
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("pickle: BUILD on nothing")
			}
			if arr, ok := stack[len(stack)-1].(*pyArray); ok {
				st, ok := state.(pyTuple)
				if !ok || len(st) != 5 {
					return nil, fmt.Errorf("pickle: array state %v", state)
				}
				items, ok := st[4].([]any)
				if !ok {
					return nil, fmt.Errorf("pickle: array data is %T, want a list of objects", st[4])
				}
				arr.items = items
			}
			if dt, ok := stack[len(stack)-1].(*pyDtype); ok {
				if st, ok := state.(pyTuple); ok && len(st) > 1 {
					dt.big = st[1] == ">"
				}
			}
		case '.':
			if len(stack) != 1 {
				return nil, fmt.Errorf("pickle ends with %d values on the stack", len(stack))
			}
			return stack[0], nil
		default:
			return nil, fmt.Errorf("pickle opcode 0x%02x at byte %d is not one a stats file uses", op, pos-1)
		}
	}
}

// reduce applies one of the few numpy callables a stats file uses.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	a, ok2 := args.(pyTuple)
	if !ok || !ok2 {
		return nil, fmt.Errorf("pickle: cannot call %v", fn)
	}
	switch g.name {
	case "_reconstruct", "ndarray":
		return &pyArray{}, nil
	case "dtype":
		if len(a) < 1 {
			return nil, fmt.Errorf("pickle: dtype()")
		}
		name, _ := a[0].(string)
		return &pyDtype{name: name}, nil
	case "scalar":
		if len(a) != 2 {
			return nil, fmt.Errorf("pickle: scalar with %d arguments", len(a))
		}
		dt, ok := a[0].(*pyDtype)
		raw, ok2 := a[1].([]byte)
		if !ok || !ok2 {
			return nil, fmt.Errorf("pickle: scalar(%T, %T)", a[0], a[1])
		}
		if dt.big {
			return nil, fmt.Errorf("pickle: big-endian numpy scalar of dtype %s is not supported", dt.name)
		}
		switch {
		case dt.name == "f8" && len(raw) == 8:
			return math.Float64frombits(binary.LittleEndian.Uint64(raw)), nil
		case dt.name == "i8" && len(raw) == 8:
			return int64(binary.LittleEndian.Uint64(raw)), nil
		case strings.HasPrefix(dt.name, "U") && len(raw)%4 == 0:
			var sb strings.Builder
			for i := 0; i < len(raw); i += 4 {
				r := rune(binary.LittleEndian.Uint32(raw[i:]))
				if r == 0 {
					break
				}
				sb.WriteRune(r)
			}
			return sb.String(), nil
		}
		return nil, fmt.Errorf("pickle: numpy scalar of dtype %s (%d bytes) is not supported", dt.name, len(raw))
	}
	return nil, fmt.Errorf("pickle: cannot call %s.%s", g.mod, g.name)
}

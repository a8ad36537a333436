package cc

import (
	"fmt"
	"strings"
)

// CC names a congestion-control algorithm. Its value is m4's name, the
// spelling of specs, checkpoints and data sets.
type CC string

// The four algorithms of m3's data.
const (
	DCTCP  CC = "dctcp"
	DCQCN  CC = "dcqcn"
	HPCC   CC = "hpcc"
	TIMELY CC = "timely"
)

// all is the one-hot order of m3's configuration vector; modes are the
// fork's CC_MODE numbers in the same order.
var (
	all   = [...]CC{DCTCP, DCQCN, HPCC, TIMELY}
	modes = [...]int{8, 1, 3, 7}
)

// All returns the algorithms in the order of their one-hot slots in m3's
// configuration vector.
func All() []CC { return append([]CC(nil), all[:]...) }

// Names returns All as strings.
func Names() []string {
	s := make([]string, len(all))
	for i, c := range all {
		s[i] = string(c)
	}
	return s
}

// Index returns c's one-hot slot (its place in All), or -1 if c is unknown.
func (c CC) Index() int {
	for i, x := range all {
		if x == c {
			return i
		}
	}
	return -1
}

// Valid tells whether c is one of All.
func (c CC) Valid() bool { return c.Index() >= 0 }

// Upper is c's name in capitals, as tables and text print it.
func (c CC) Upper() string { return strings.ToUpper(string(c)) }

// Mode is the fork's CC_MODE of c, or 0 if c is unknown.
func (c CC) Mode() int {
	if i := c.Index(); i >= 0 {
		return modes[i]
	}
	return 0
}

// ForkName is c's name as run_m3.py writes it into param_*.txt. HPCC's
// includes its additive increase in Mb/s; run_m3.py names it after its
// --utgt argument (always 95), not the sampled eta.
func (c CC) ForkName(hpccAI int) string {
	switch c {
	case DCQCN:
		return "dcqcn_paper_vwin"
	case HPCC:
		return fmt.Sprintf("hp95ai%d", hpccAI)
	case TIMELY:
		return "timely_vwin"
	}
	return string(c)
}

// UnknownError is a name or CC_MODE that is none of the algorithms.
type UnknownError struct {
	Name   string // the name given
	Mode   int    // or the CC_MODE given, with ByMode
	ByMode bool
}

func (e *UnknownError) Error() string {
	if e.ByMode {
		var known []string
		for i, c := range all {
			known = append(known, fmt.Sprintf("%d (%s)", modes[i], c.Upper()))
		}
		return fmt.Sprintf("CC_MODE %d: m4 knows %s", e.Mode, list(known))
	}
	return fmt.Sprintf("unknown congestion control %q (want %s)", e.Name, list(Names()))
}

// list joins names as "a, b, c or d".
func list(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Parse returns the algorithm named name (m4's names, exactly). The error,
// an *UnknownError, names the value and the accepted set.
func Parse(name string) (CC, error) {
	if c := CC(name); c.Valid() {
		return c, nil
	}
	return "", &UnknownError{Name: name}
}

// ParseFork returns the algorithm of a name as run_m3.py writes it (dctcp,
// dcqcn*, hp*, timely*), which includes m4's names.
func ParseFork(name string) (CC, error) {
	switch {
	case name == string(DCTCP):
		return DCTCP, nil
	case strings.HasPrefix(name, string(DCQCN)):
		return DCQCN, nil
	case strings.HasPrefix(name, "hp"):
		return HPCC, nil
	case strings.HasPrefix(name, string(TIMELY)):
		return TIMELY, nil
	}
	return "", &UnknownError{Name: name}
}

// FromMode returns the algorithm of the fork's CC_MODE number.
func FromMode(mode int) (CC, error) {
	for i, m := range modes {
		if m == mode {
			return all[i], nil
		}
	}
	return "", &UnknownError{Mode: mode, ByMode: true}
}

// Package scenario loads path-level scenarios: the flows of one parking-lot
// path (arrival time, size, source and destination host), from a reference
// shard folder (fat.npy, fsize.npy, fsd.npy) or from an ns-3 flow.txt.
//
// Every value is checked on load, and an error names the file, the field and
// the flow, so the user can find the bad line.
package scenario

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/npyfile"
)

// Path is the flows of one parking-lot path scenario.
type Path struct {
	Name  string // the shard folder's or flow file's base name
	Hosts int    // H: hosts 0..H-1 in a line

	ArrivalNs []float64 // ascending
	SizeBytes []float64 // payload bytes
	Src, Dst  []int32

	// Files the fields came from, for error messages.
	ArrivalFile, SizeFile, HostFile string
}

// Len returns the number of flows.
func (p *Path) Len() int { return len(p.ArrivalNs) }

// FileOf names the file a native input field (see bindings.InputError) came from.
func (p *Path) FileOf(field string) string {
	switch field {
	case "arrival_ns":
		return p.ArrivalFile
	case "size_bytes":
		return p.SizeFile
	default:
		return p.HostFile
	}
}

var hostsRe = regexp.MustCompile(`_nhosts(\d+)(_|$)`)

// HostsFromName returns H from a shard folder name like
// shard3_nflows100_nhosts5_lr10Gbps, or 0 if the name does not say.
func HostsFromName(dir string) int {
	m := hostsRe.FindStringSubmatch(filepath.Base(filepath.Clean(dir)))
	if m == nil {
		return 0
	}
	h, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return h
}

// LoadShard reads a reference-layout shard folder. hosts overrides the H
// parsed from the folder name when > 0.
func LoadShard(dir string, hosts int) (*Path, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("shard: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("shard %s: not a directory", dir)
	}
	if hosts <= 0 {
		hosts = HostsFromName(dir)
	}
	if hosts < 2 {
		return nil, fmt.Errorf("shard %s: cannot tell the number of hosts: the folder name has no _nhostsH_ part; pass --hosts", dir)
	}
	p := &Path{
		Name:        filepath.Base(filepath.Clean(dir)),
		Hosts:       hosts,
		ArrivalFile: filepath.Join(dir, "fat.npy"),
		SizeFile:    filepath.Join(dir, "fsize.npy"),
		HostFile:    filepath.Join(dir, "fsd.npy"),
	}
	fat, err := npyfile.Read(p.ArrivalFile)
	if err != nil {
		return nil, err
	}
	fsize, err := npyfile.Read(p.SizeFile)
	if err != nil {
		return nil, err
	}
	fsd, err := npyfile.Read(p.HostFile)
	if err != nil {
		return nil, err
	}
	if len(fat.Shape) != 1 {
		return nil, fmt.Errorf("%s: shape %v, want (n,)", p.ArrivalFile, fat.Shape)
	}
	if len(fsize.Shape) != 1 {
		return nil, fmt.Errorf("%s: shape %v, want (n,)", p.SizeFile, fsize.Shape)
	}
	if len(fsd.Shape) != 2 || fsd.Shape[1] != 2 {
		return nil, fmt.Errorf("%s: shape %v, want (n, 2) of src, dst", p.HostFile, fsd.Shape)
	}
	n := fat.Shape[0]
	if fsize.Shape[0] != n || fsd.Shape[0] != n {
		return nil, fmt.Errorf("shard %s: mismatched lengths: fat.npy has %d flows, fsize.npy %d, fsd.npy %d",
			dir, n, fsize.Shape[0], fsd.Shape[0])
	}
	p.ArrivalNs = fat.Float64s()
	p.SizeBytes = fsize.Float64s()
	sd, err := fsd.Int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.HostFile, err)
	}
	p.Src = make([]int32, n)
	p.Dst = make([]int32, n)
	for i := 0; i < n; i++ {
		s, d := sd[2*i], sd[2*i+1]
		if s < math.MinInt32 || s > math.MaxInt32 || d < math.MinInt32 || d > math.MaxInt32 {
			return nil, fmt.Errorf("%s: flow %d: host (%d, %d) out of range", p.HostFile, i, s, d)
		}
		p.Src[i], p.Dst[i] = int32(s), int32(d)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// LoadFlowFile reads an ns-3 flow file: a line with the flow count, then one
// line per flow, "id src dst pg dport size_bytes start_seconds". hosts must be
// the path's H.
func LoadFlowFile(path string, hosts int) (*Path, error) {
	if hosts < 2 {
		return nil, fmt.Errorf("%s: the number of hosts must be given (--hosts) and be >= 2", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseFlowFile(path, f, hosts)
}

// ParseFlowFile parses an ns-3 flow file from r; path names it in errors.
func ParseFlowFile(path string, r io.Reader, hosts int) (*Path, error) {
	if hosts < 2 {
		return nil, fmt.Errorf("%s: the number of hosts must be given (--hosts) and be >= 2", path)
	}
	p := &Path{Name: filepath.Base(path), Hosts: hosts, ArrivalFile: path, SizeFile: path, HostFile: path}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	want := -1
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if want < 0 {
			if len(fields) != 1 {
				return nil, fmt.Errorf("%s:%d: first line must be the flow count, got %q", path, line, text)
			}
			var err error
			want, err = strconv.Atoi(fields[0])
			if err != nil || want < 0 {
				return nil, fmt.Errorf("%s:%d: flow count %q is not a non-negative integer", path, line, fields[0])
			}
			// Trust the count only as far as the file could hold it.
			capHint := want
			if capHint > 1<<20 {
				capHint = 1 << 20
			}
			p.ArrivalNs = make([]float64, 0, capHint)
			p.SizeBytes = make([]float64, 0, capHint)
			p.Src = make([]int32, 0, capHint)
			p.Dst = make([]int32, 0, capHint)
			continue
		}
		if len(fields) != 7 {
			return nil, fmt.Errorf("%s:%d: want 7 fields (id src dst pg dport size start_s), got %d", path, line, len(fields))
		}
		src, err1 := strconv.ParseInt(fields[1], 10, 32)
		dst, err2 := strconv.ParseInt(fields[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: src/dst %q %q are not integers", path, line, fields[1], fields[2])
		}
		size, err := strconv.ParseFloat(fields[5], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: size %q is not a number", path, line, fields[5])
		}
		start, err := strconv.ParseFloat(fields[6], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: start time %q is not a number", path, line, fields[6])
		}
		if len(p.ArrivalNs) == want {
			return nil, fmt.Errorf("%s:%d: more flows than the count %d on the first line", path, line, want)
		}
		p.ArrivalNs = append(p.ArrivalNs, math.Round(start*1e9))
		p.SizeBytes = append(p.SizeBytes, size)
		p.Src = append(p.Src, int32(src))
		p.Dst = append(p.Dst, int32(dst))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if want < 0 {
		return nil, fmt.Errorf("%s: empty flow file (no count line)", path)
	}
	if len(p.ArrivalNs) != want {
		return nil, fmt.Errorf("%s: truncated: the first line promises %d flows, the file has %d", path, want, len(p.ArrivalNs))
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks every flow and names the file and field of the first bad
// one. A scenario without flows is refused: there is nothing to simulate or
// estimate (bindings.ErrNoFlows).
func (p *Path) Validate() error {
	n := len(p.ArrivalNs)
	if len(p.SizeBytes) != n || len(p.Src) != n || len(p.Dst) != n {
		return fmt.Errorf("%s: mismatched lengths: %d arrivals, %d sizes, %d src, %d dst",
			p.Name, n, len(p.SizeBytes), len(p.Src), len(p.Dst))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", p.ArrivalFile, bindings.ErrNoFlows)
	}
	for i := 0; i < n; i++ {
		at := p.ArrivalNs[i]
		if math.IsNaN(at) || math.IsInf(at, 0) || at < 0 {
			return fmt.Errorf("%s: arrival time of flow %d is %v: must be a finite time >= 0", p.ArrivalFile, i, at)
		}
		if i > 0 && at < p.ArrivalNs[i-1] {
			return fmt.Errorf("%s: arrival times must be ascending: flow %d arrives at %v ns, before flow %d at %v ns",
				p.ArrivalFile, i, at, i-1, p.ArrivalNs[i-1])
		}
		sz := p.SizeBytes[i]
		if math.IsNaN(sz) || math.IsInf(sz, 0) || sz <= 0 {
			return fmt.Errorf("%s: size of flow %d is %v: must be a finite number of bytes > 0", p.SizeFile, i, sz)
		}
		s, d := p.Src[i], p.Dst[i]
		if s < 0 || int(s) >= p.Hosts {
			return fmt.Errorf("%s: src of flow %d is host %d, outside the %d-host path", p.HostFile, i, s, p.Hosts)
		}
		if d < 0 || int(d) >= p.Hosts {
			return fmt.Errorf("%s: dst of flow %d is host %d, outside the %d-host path", p.HostFile, i, d, p.Hosts)
		}
		if s == d {
			return fmt.Errorf("%s: flow %d has src == dst == %d", p.HostFile, i, s)
		}
	}
	return nil
}

// MaxLoad returns the highest offered load of p's directed links when they
// run at cfg's rates: the wire bits (payload and headers) of the flows
// crossing the link, at the rate flows arrive over the span of arrivals,
// over the link's capacity. Above 1 the link is offered more than it can
// carry: its queue grows for as long as the scenario lasts. It returns 0
// for fewer than two flows or arrivals all at one time.
func (p *Path) MaxLoad(cfg bindings.PathConfig) (load float64, link int, forward bool) {
	n := p.Len()
	if n < 2 || p.Hosts < 2 {
		return 0, 0, false
	}
	span := p.ArrivalNs[n-1] - p.ArrivalNs[0]
	if !(span > 0) {
		return 0, 0, false
	}
	links := p.Hosts - 1
	bits := make([]float64, 2*links) // forward links, then backward
	for i := 0; i < n; i++ {
		s, d := int(p.Src[i]), int(p.Dst[i])
		size := p.SizeBytes[i]
		b := 8 * (size + math.Ceil(size/cfg.PayloadBytes)*cfg.HeaderBytes)
		lo, hi, off := s, d, 0
		if s > d {
			lo, hi, off = d, s, links
		}
		for l := lo; l < hi; l++ {
			bits[off+l] += b
		}
	}
	perNs := float64(n-1) / float64(n) / span
	for k, b := range bits {
		l := k % links
		gbps := cfg.CoreGbps
		if l == 0 || l == links-1 {
			gbps = cfg.EdgeGbps
		}
		if x := b * perNs / gbps; x > load {
			load, link, forward = x, l, k < links
		}
	}
	return load, link, forward
}

package workload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/matrix/*.json.gz
var matrixFiles embed.FS

// MatrixNames lists the traffic matrices known by name: uniform, and the
// Meta clusters' rack-to-rack matrices (cluster_a/b/c pick the embedded
// variant whose pod count matches the topology; the _2_16 ones are the
// 2-pod, 16-rack downsamples Parsimon's evaluation uses).
var MatrixNames = []string{"uniform", "cluster_a", "cluster_b", "cluster_c", "cluster_a_2_16", "cluster_b_2_16", "cluster_c_2_16"}

// TrafficMatrix weighs (source rack, destination rack) pairs of a topology.
// A flow picks a pair with probability proportional to its weight, then its
// source and destination hosts uniformly within the two racks, redrawn while
// they coincide (as Parsimon's spatial sampler does).
type TrafficMatrix struct {
	Name  string
	Racks int
	W     []float64 // Racks x Racks, row = source rack

	// sampling: cumulative weights over the non-zero pairs
	cum   []float64
	pairs []int32
}

// UniformMatrix makes every ordered pair of distinct hosts equally likely.
func UniformMatrix(t *Topology) (*TrafficMatrix, error) {
	R := len(t.Racks)
	m := &TrafficMatrix{Name: "uniform", Racks: R, W: make([]float64, R*R)}
	for a := 0; a < R; a++ {
		na := float64(len(t.Racks[a].Hosts))
		for b := 0; b < R; b++ {
			nb := float64(len(t.Racks[b].Hosts))
			if a == b {
				nb--
			}
			m.W[a*R+b] = na * nb
		}
	}
	if err := m.prepare(t); err != nil {
		return nil, fmt.Errorf("uniform traffic matrix: %w", err)
	}
	return m, nil
}

// NamedMatrix returns a matrix of MatrixNames mapped onto t; the Meta
// matrices place their racks on t's racks at random (r), pod by pod.
func NamedMatrix(name string, t *Topology, r *rand.Rand) (*TrafficMatrix, error) {
	switch name {
	case "uniform":
		return UniformMatrix(t)
	case "cluster_a", "cluster_b", "cluster_c":
		if t.Pods == nil {
			return nil, fmt.Errorf("traffic matrix %s needs a topology with pods (a fabric or a fat-tree)", name)
		}
		var tried []string
		for _, variant := range []string{name, name + "_2_16"} {
			sp, err := embeddedSpatial(variant)
			if err != nil {
				return nil, err
			}
			if len(sp.Pod2Tors) == len(t.Pods) {
				return sp.mapTo(variant, t, r)
			}
			tried = append(tried, fmt.Sprintf("%s has %d pods", variant, len(sp.Pod2Tors)))
		}
		return nil, fmt.Errorf("traffic matrix %s: the topology has %d pods; %s", name, len(t.Pods), strings.Join(tried, ", "))
	case "cluster_a_2_16", "cluster_b_2_16", "cluster_c_2_16":
		sp, err := embeddedSpatial(name)
		if err != nil {
			return nil, err
		}
		return sp.mapTo(name, t, r)
	}
	return nil, fmt.Errorf("unknown traffic matrix %q (known: %s, or a file)", name, strings.Join(MatrixNames, ", "))
}

// LoadMatrix reads a traffic matrix file: either Parsimon's spatial JSON
// (the embedded matrices' schema, see data/README.md), mapped onto t's pods
// as NamedMatrix does, or text: one row per source rack of t (racks in
// ascending switch id), each with one non-negative weight per destination
// rack; blank lines and # comments skipped.
func LoadMatrix(path string, t *Topology, r *rand.Rand) (*TrafficMatrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMatrix(path, b, t, r)
}

// ParseMatrix parses traffic-matrix text (see LoadMatrix) for t; path names
// it in errors.
func ParseMatrix(path string, b []byte, t *Topology, r *rand.Rand) (*TrafficMatrix, error) {
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		var sp spatial
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sp); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return sp.mapTo(path, t, r)
	}
	R := len(t.Racks)
	m := &TrafficMatrix{Name: "file:" + path, Racks: R, W: make([]float64, 0, R*R)}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	line, rows := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != R {
			return nil, fmt.Errorf("%s:%d: %d weights; the topology has %d racks, want one weight per rack", path, line, len(f), R)
		}
		if rows == R {
			return nil, fmt.Errorf("%s:%d: more than %d rows (one per rack)", path, line, R)
		}
		for j, s := range f {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("%s:%d: weight %d (%q) is not a finite number >= 0", path, line, j+1, s)
			}
			m.W = append(m.W, v)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if rows != R {
		return nil, fmt.Errorf("%s: %d rows; the topology has %d racks, want one row per rack", path, rows, R)
	}
	if err := m.prepare(t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// spatial is Parsimon's spatial-data JSON.
type spatial struct {
	Matrix struct {
		Inner    [][]float64 `json:"inner"`
		Idx2Name []string    `json:"idx2name"`
	} `json:"matrix"`
	Pod2Tors map[string][]string `json:"pod2tors"`
	NrPods   int                 `json:"nr_pods"`
	NrRacks  int                 `json:"nr_racks"`
}

func embeddedSpatial(name string) (*spatial, error) {
	f, err := matrixFiles.Open("data/matrix/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("no embedded traffic matrix %q", name)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("embedded traffic matrix %s: %w", name, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("embedded traffic matrix %s: %w", name, err)
	}
	var sp spatial
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("embedded traffic matrix %s: %w", name, err)
	}
	return &sp, nil
}

// mapTo places the matrix's pods on t's pods (pod names in sorted order)
// and, within each pod, its racks on a random choice of t's racks.
func (sp *spatial) mapTo(name string, t *Topology, r *rand.Rand) (*TrafficMatrix, error) {
	if t.Pods == nil {
		return nil, fmt.Errorf("traffic matrix %s needs a topology with pods (a fabric or a fat-tree)", name)
	}
	if len(sp.Pod2Tors) != len(t.Pods) {
		return nil, fmt.Errorf("traffic matrix %s has %d pods, the topology %d", name, len(sp.Pod2Tors), len(t.Pods))
	}
	names := sp.Matrix.Idx2Name
	dim := len(sp.Matrix.Inner)
	if len(names) > dim {
		return nil, fmt.Errorf("traffic matrix %s: %d rack names for a %dx%d matrix", name, len(names), dim, dim)
	}
	for i, row := range sp.Matrix.Inner {
		if len(row) != dim {
			return nil, fmt.Errorf("traffic matrix %s: row %d has %d entries, want %d", name, i, len(row), dim)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("traffic matrix %s: entry (%d, %d) = %v, want a finite number >= 0", name, i, j, v)
			}
			if (i >= len(names) || j >= len(names)) && v != 0 {
				return nil, fmt.Errorf("traffic matrix %s: entry (%d, %d) = %v belongs to no named rack", name, i, j, v)
			}
		}
	}
	pods := make([]string, 0, len(sp.Pod2Tors))
	for p := range sp.Pod2Tors {
		pods = append(pods, p)
	}
	sort.Strings(pods)
	rackOfName := map[string]int{}
	for p, pod := range pods {
		tors := sp.Pod2Tors[pod]
		if len(tors) > len(t.Pods[p]) {
			return nil, fmt.Errorf("traffic matrix %s: pod %s has %d racks, the topology's pods %d", name, pod, len(tors), len(t.Pods[p]))
		}
		perm := r.Perm(len(t.Pods[p]))
		for k, tor := range tors {
			if _, dup := rackOfName[tor]; dup {
				return nil, fmt.Errorf("traffic matrix %s: rack %s is in two pods", name, tor)
			}
			rackOfName[tor] = t.Pods[p][perm[k]]
		}
	}
	R := len(t.Racks)
	m := &TrafficMatrix{Name: name, Racks: R, W: make([]float64, R*R)}
	idx := make([]int, len(names))
	for i, n := range names {
		rk, ok := rackOfName[n]
		if !ok {
			return nil, fmt.Errorf("traffic matrix %s: rack %s of the matrix is in no pod", name, n)
		}
		idx[i] = rk
	}
	for i := range names {
		for j := range names {
			m.W[idx[i]*R+idx[j]] += sp.Matrix.Inner[i][j]
		}
	}
	if err := m.prepare(t); err != nil {
		return nil, fmt.Errorf("traffic matrix %s: %w", name, err)
	}
	return m, nil
}

// prepare zeroes the diagonal of single-host racks (no distinct pair
// exists there), checks that some weight remains, and builds the sampler.
func (m *TrafficMatrix) prepare(t *Topology) error {
	R := m.Racks
	if R != len(t.Racks) || len(m.W) != R*R {
		return fmt.Errorf("matrix is %d racks for a topology of %d", R, len(t.Racks))
	}
	for a := 0; a < R; a++ {
		if len(t.Racks[a].Hosts) < 2 {
			m.W[a*R+a] = 0
		}
	}
	m.cum, m.pairs = m.cum[:0], m.pairs[:0]
	total := 0.0
	for i, w := range m.W {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return fmt.Errorf("weight (%d, %d) = %v, want a finite number >= 0", i/R, i%R, w)
		}
		if w > 0 {
			total += w
			m.cum = append(m.cum, total)
			m.pairs = append(m.pairs, int32(i))
		}
	}
	if total == 0 {
		return fmt.Errorf("no traffic: every weight is 0")
	}
	if math.IsInf(total, 0) {
		return fmt.Errorf("the weights sum to more than a float64 holds")
	}
	return nil
}

// Total returns the sum of the weights.
func (m *TrafficMatrix) Total() float64 { return m.cum[len(m.cum)-1] }

// Sample draws a flow's source and destination hosts.
func (m *TrafficMatrix) Sample(t *Topology, r *rand.Rand) (src, dst int32) {
	u := r.Float64() * m.Total()
	i := sort.SearchFloat64s(m.cum, u)
	for i < len(m.cum)-1 && m.cum[i] <= u {
		i++
	}
	a, b := int(m.pairs[i])/m.Racks, int(m.pairs[i])%m.Racks
	ha, hb := t.Racks[a].Hosts, t.Racks[b].Hosts
	for {
		src, dst = ha[r.IntN(len(ha))], hb[r.IntN(len(hb))]
		if src != dst {
			return src, dst
		}
	}
}

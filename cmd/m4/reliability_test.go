package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/ckpts"
	"github.com/m4sim/m4/pipeline/cc"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
	"github.com/m4sim/m4/pipeline/npyfile"
	"github.com/m4sim/m4/pipeline/scenario"
)

// TestReliabilityTable keeps docs/reliability.md's table of bad input
// true: every row's command is run through the CLI in-process on the
// fixtures below ($T), and must end as the row says. "error:" rows must
// fail with an error holding every `quoted` piece before the first ";"
// (and write nothing); "ok:" and "warning:" rows must succeed with their
// output holding every such piece (none of those after "not"); a predict
// row's estimates must be a valid distribution. Rows whose command is a test name (TestX, FuzzX, in
// the package named beside it) must name a test that exists there.
func TestReliabilityTable(t *testing.T) {
	if !bindings.Native {
		t.Skip(bindings.ErrNoNative)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "reliability.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(t, string(doc), "## Bad input: every case and its outcome")
	if len(rows) < 20 {
		t.Fatalf("the table has %d rows", len(rows))
	}
	dir := t.TempDir()
	makeFixtures(t, dir)
	piece := regexp.MustCompile("(not )?`([^`]*)`")
	for i, r := range rows {
		cmdText := strings.Trim(strings.TrimSpace(r[1]), "`")
		outcome := strings.TrimSpace(r[2])
		if m := regexp.MustCompile(`^(\w+) \(([\w./]+)\)$`).FindStringSubmatch(cmdText); m != nil {
			if !testExists(t, m[1], filepath.Join("..", "..", m[2])) {
				t.Errorf("row %d (%s): no %s in %s", i+1, r[0], m[1], m[2])
			}
			continue
		}
		if strings.HasPrefix(cmdText, ".ci/") {
			continue // run by CI (.ci/run): checked there
		}
		if !strings.HasPrefix(cmdText, "m4 ") {
			t.Errorf("row %d (%s): command %q is neither m4 ... nor a test", i+1, r[0], cmdText)
			continue
		}
		args := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(cmdText, "m4 "), "$T", dir))
		var want, wantNot []string
		checked, _, _ := strings.Cut(outcome, ";") // after a ";": commentary
		for _, m := range piece.FindAllStringSubmatch(checked, -1) {
			if m[1] != "" {
				wantNot = append(wantNot, m[2])
			} else {
				want = append(want, m[2])
			}
		}
		before := listTree(t, dir)
		out, err := run(t, args...)
		switch {
		case strings.HasPrefix(outcome, "error"):
			if err == nil {
				t.Errorf("row %d (%s): `m4 %s` succeeded, the table says it fails:\n%s", i+1, r[0], strings.Join(args, " "), out)
				continue
			}
			out = err.Error()
			if after := listTree(t, dir); after != before {
				t.Errorf("row %d (%s): the failed command wrote files:\n%s", i+1, r[0], after)
			}
		case strings.HasPrefix(outcome, "ok"), strings.HasPrefix(outcome, "warning"):
			if err != nil {
				t.Errorf("row %d (%s): `m4 %s`: %v", i+1, r[0], strings.Join(args, " "), err)
				continue
			}
			if args[0] == "predict" {
				checkValidNPY(t, i+1, args)
			}
		default:
			t.Errorf("row %d (%s): outcome %q starts with neither error, ok nor warning", i+1, r[0], outcome)
			continue
		}
		for _, w := range want {
			if !strings.Contains(out, strings.ReplaceAll(w, "$T", dir)) {
				t.Errorf("row %d (%s): output lacks %q:\n%s", i+1, r[0], w, out)
			}
		}
		for _, w := range wantNot {
			if strings.Contains(out, w) {
				t.Errorf("row %d (%s): output holds %q:\n%s", i+1, r[0], w, out)
			}
		}
	}
}

// tableRows returns the cells of the first table after heading.
func tableRows(t *testing.T, doc, heading string) [][]string {
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("docs/reliability.md has no %q", heading)
	}
	var rows [][]string
	inTable := false
	for _, line := range strings.Split(doc[i:], "\n")[1:] {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		if strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 3 {
			t.Fatalf("row %q: %d cells, want 3 (input | command | outcome)", line, len(cells))
		}
		if strings.TrimSpace(cells[0]) == "input" {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

// testExists reports whether a _test.go file in dir (or the C test file
// dir) declares function name.
func testExists(t *testing.T, name, dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if strings.HasSuffix(dir, ".c") {
		b, err := os.ReadFile(dir)
		return err == nil && regexp.MustCompile(`\b`+name+`\(`).Match(b)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("func "+name+"(")) {
			return true
		}
	}
	return false
}

// listTree lists every file under dir with its size.
func listTree(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			fmt.Fprintf(&b, "%s %d\n", strings.TrimPrefix(p, dir), fi.Size())
		}
		return nil
	})
	return b.String()
}

// checkValidNPY checks that predict's --out holds valid distributions.
func checkValidNPY(t *testing.T, row int, args []string) {
	for i, a := range args {
		if a != "--out" || i+1 >= len(args) {
			continue
		}
		a, err := npyfile.Read(args[i+1])
		if err != nil {
			t.Errorf("row %d: %v", row, err)
			return
		}
		v := a.Float64s()
		for k := range v {
			if !(v[k] >= 1) || (k%100 > 0 && v[k] < v[k-1]) {
				t.Errorf("row %d: estimate %d = %v after %v: not a valid distribution", row, k, v[k], v[max(k-1, 0)])
				return
			}
		}
	}
}

// issue13Spec is the speed issue's 10^6-flow, 2,048-host workload spec
// without its flow count.
const issue13Spec = "topology: {kind: fabric, pods: 4, fabs_per_pod: 4, racks_per_pod: 32, hosts_per_rack: 16, oversubscription: 2}\n" +
	"sizes: {dist: webserver}\narrivals: {process: lognormal, sigma: 1}\ntraffic: {matrix: uniform}\nmax_load: 0.5\n" +
	"cc: {algorithm: dctcp, buffer_kb: 3000}\n"

// makeFixtures writes the table's inputs into dir.
func makeFixtures(t *testing.T, dir string) {
	t.Helper()
	small := "topology: {kind: fabric, pods: 1, fabs_per_pod: 1, racks_per_pod: 4, hosts_per_rack: 4}\n" +
		"sizes: {dist: webserver}\nmax_load: 0.5\nflows: 400\nseed: 2\n"
	for name, text := range map[string]string{
		"small.yaml":         small,
		"zero-hosts.yaml":    strings.Replace(small, "hosts_per_rack: 4", "hosts_per_rack: 0", 1),
		"zero-pods.yaml":     strings.Replace(small, "pods: 1,", "pods: 0,", 1),
		"zero-gbps.yaml":     strings.Replace(small, "hosts_per_rack: 4}", "hosts_per_rack: 4, host_gbps: 0}", 1),
		"typo.yaml":          strings.Replace(small, "max_load", "max_laod", 1),
		"1e9-flows.yaml":     issue13Spec + "flows: 1000000000\n",
		"duration-1000.yaml": issue13Spec + "duration_s: 1000\n",
		"zero-pairs.yaml":    "flows_per_pair: 0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// path scenarios on 5 hosts: ordinary, overloaded 19x, without
	// foreground flows, without flows
	rng := rand.New(rand.NewPCG(7, 1))
	const n, h = 600, 5
	at, size := make([]float64, n), make([]float64, n)
	src, dst := make([]int32, n), make([]int32, n)
	t0 := 0.0
	for i := range at {
		t0 += rng.ExpFloat64() * 10000
		at[i], size[i] = math.Round(t0), math.Round(200+rng.ExpFloat64()*8000)
		if i%3 == 0 {
			src[i], dst[i] = 0, h-1
		} else {
			src[i] = int32(rng.IntN(h - 1))
			dst[i] = src[i] + 1 + int32(rng.IntN(h-1-int(src[i])))
		}
	}
	p := &scenario.Path{Hosts: h, ArrivalNs: at, SizeBytes: size, Src: src, Dst: dst}
	load, _, _ := p.MaxLoad(bindings.DefaultPathConfig(h))
	if !(load > 0.2 && load < 0.9) {
		t.Fatalf("the ordinary scenario's busiest link is at %.2f", load)
	}
	over := make([]float64, n)
	for i := range at {
		over[i] = math.Round(at[i] * load / 19)
	}
	noFG := append([]int32(nil), src...)
	for i := range noFG {
		if noFG[i] == 0 && dst[i] == h-1 {
			noFG[i] = 1
		}
	}
	writeShard(t, filepath.Join(dir, "normal_nhosts5"), at, size, src, dst)
	writeShard(t, filepath.Join(dir, "overload_nhosts5"), over, size, src, dst)
	writeShard(t, filepath.Join(dir, "nofg_nhosts5"), at, size, noFG, dst)
	writeShard(t, filepath.Join(dir, "empty_nhosts5"), nil, nil, nil, nil)

	// checkpoints: the shipped one with 200 bytes of weights flipped (still
	// finite), as m4 before 0.2 wrote it (no checksum), and with its last
	// layer damaged and checksummed anew (a checkpoint that does not fit)
	img := append([]byte(nil), ckpts.Default...)
	hl := binary.LittleEndian.Uint64(img)
	for k := 0; k < 200; k++ {
		img[8+hl+uint64(k)*2*997] ^= 0x55 // the low byte of an F16: mantissa bits only
	}
	writeFile(t, filepath.Join(dir, "flipped.safetensors"), img)
	writeFile(t, filepath.Join(dir, "old.safetensors"), stripChecksum(t, ckpts.Default))
	ck, err := model.Decode("default", ckpts.Default)
	if err != nil {
		t.Fatal(err)
	}
	tensors, err := model.Tensors(ck.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range tensors {
		if ts.Name == "model_mlp.4.bias" {
			for j := ts.Offset; j < ts.Offset+ts.Size; j++ {
				ck.Params[j] += 500
			}
		}
	}
	b, err := model.Encode(ck, model.F32)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "damaged.safetensors"), b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeShard writes a shard folder: flows and a DCTCP configuration.
func writeShard(t *testing.T, dir string, at, size []float64, src, dst []int32) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := len(at)
	fat, fsize := make([]int64, n), make([]int64, n)
	sd := make([]int32, 0, 2*n)
	for i := range at {
		fat[i], fsize[i] = int64(at[i]), int64(size[i])
		sd = append(sd, src[i], dst[i])
	}
	vec := features.DefaultConfig(cc.DCTCP, 300, 18000, false).Vector()
	for _, e := range []struct {
		name  string
		data  any
		shape []int
	}{{"fat.npy", fat, []int{n}}, {"fsize.npy", fsize, []int{n}}, {"fsd.npy", sd, []int{n, 2}},
		{"param_topo-pl-5_s0.npy", vec[:], nil}} {
		if err := npyfile.Write(filepath.Join(dir, e.name), e.data, e.shape); err != nil {
			t.Fatal(err)
		}
	}
}

// stripChecksum returns a checkpoint image without its data_sha256, as m4
// before 0.2 wrote it.
func stripChecksum(t *testing.T, img []byte) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint64(img)
	var h map[string]any
	if err := json.Unmarshal(img[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	delete(h["__metadata__"].(map[string]any), model.MetaChecksum)
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for (8+len(hj))%8 != 0 {
		hj = append(hj, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))
	return append(append(out, hj...), img[8+n:]...)
}

package workload

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestExplicitZeroRefused: a key that takes a default when left out is an
// error naming the key and line when given as 0 (it used to become the
// default silently); left out, it still takes the default.
func TestExplicitZeroRefused(t *testing.T) {
	base := "sizes: {dist: webserver}\nmax_load: 0.5\nflows: 100\n"
	for _, c := range []struct{ text, want string }{
		{"topology: {hosts_per_rack: 0}\n", "topology.hosts_per_rack = 0"},
		{"topology: {pods: 0}\n", "topology.pods = 0"},
		{"topology: {kind: fabric, host_gbps: 0}\n", "topology.host_gbps = 0"},
		{"topology: {fabric_gbps: 0.0}\n", "topology.fabric_gbps = 0.0"},
		{"topology: {link_delay_ns: 0}\n", "topology.link_delay_ns = 0"},
		{"arrivals: {process: lognormal, sigma: 0}\n", "arrivals.sigma = 0"},
		{"cc: {algorithm: dctcp, buffer_kb: 0}\n", "cc.buffer_kb = 0"},
		{"cc: {window_bytes: 0}\n", "cc.window_bytes = 0"},
		{"cc: {algorithm: hpcc, hpcc_u_target: 0}\n", "cc.hpcc_u_target = 0"},
	} {
		_, err := ParseSpec("t.yaml", []byte(base+c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t.yaml:4:") {
			t.Errorf("%q: error %v, want one naming t.yaml:4: and %q", c.text, err, c.want)
		}
	}
	// JSON too
	_, err := ParseSpec("t.json", []byte(`{"topology": {"pods": 0}, "sizes": {"dist": "webserver"}, "max_load": 0.5, "flows": 10}`))
	if err == nil || !strings.Contains(err.Error(), "topology.pods = 0") {
		t.Errorf("JSON pods 0: %v", err)
	}
	// left out: defaults; seed 0 is a seed like any other
	s, err := ParseSpec("t.yaml", []byte(base+"seed: 0\ntopology: {kind: fabric}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tp := s.Topology; tp.Pods != 2 || tp.HostsPerRack != 8 || tp.HostGbps != 10 || tp.LinkDelayNs != 1000 {
		t.Errorf("defaults not filled: %+v", tp)
	}
}

// TestSpecJSONRereads: spec.json (the spec with its defaults, as m4
// workload writes it) reads back as the same spec for every topology form:
// no zero of a key that does not apply is written as if given.
func TestSpecJSONRereads(t *testing.T) {
	for _, text := range []string{
		"topology: {kind: fabric, spines_per_plane: 4}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 10\n",
		"topology: {kind: fabric, racks_per_pod: 6, spines_per_plane: 4}\nsizes: {dist: webserver}\nmax_load: 0.5\nflows: 10\n",
		"topology: {kind: fattree, k: 4}\nsizes: {dist: exp, sigma: 9000}\narrivals: {process: poisson}\nmax_load: 0.5\nduration_s: 0.001\n",
	} {
		s, err := ParseSpec("t.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSpec("spec.json", b)
		if err != nil {
			t.Errorf("%q: spec.json %s does not re-read: %v", text, b, err)
			continue
		}
		back.File, back.Dir = s.File, s.Dir
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%q: re-reads as %+v, want %+v", text, back, s)
		}
	}
}

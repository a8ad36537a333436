package dyntrace

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/npyfile"
)

// twoFlows is a hand-made trace: hosts 0 and 1 on switch 2 (links 0: 0->2,
// 1: 2->0, 2: 1->2, 3: 2->1); flow 0 (0 -> 1, 10 kB) from t=100 for 900 ns,
// flow 1 (0 -> 1, 3 kB) from t=200 for 400 ns, a queue on 2->1 while both
// run.
func twoFlows() *Trace {
	return &Trace{
		FlowSize:    []int64{10000, 3000},
		FlowStartNs: []int64{100, 200},
		FlowFCTNs:   []int64{900, 400},
		FlowIdealNs: []int64{800, 300},

		FlowRoutePtr: []int64{0, 2, 4},
		FlowRoute:    []int32{0, 3, 0, 3},

		LinkFrom:    []int32{0, 2, 1, 2},
		LinkTo:      []int32{2, 0, 2, 1},
		LinkGbps:    []float64{10, 10, 10, 10},
		LinkDelayNs: []int64{1000, 1000, 1000, 1000},

		EvTimeNs: []int64{100, 200, 600, 1000},
		EvKind:   []int8{Arrival, Arrival, Departure, Departure},
		EvFlow:   []int32{0, 1, 1, 0},

		EvActivePtr:       []int64{0, 1, 3, 4, 4},
		EvActiveFlow:      []int32{0, 0, 1, 0},
		EvActiveRemaining: []float32{10000, 9000, 3000, 4000},

		EvQueuePtr:   []int64{0, 0, 1, 1, 1},
		EvQueueLink:  []int32{3},
		EvQueueBytes: []float32{1500},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	want := twoFlows()
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back:\n%+v\nwrote:\n%+v", got, want)
	}
	// the file's arrays have the format's dtypes, under the format's names
	arr, err := npyfile.ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, dtype := range map[string]string{"flow_size": "<i8", "flow_route": "<i4", "link_gbps": "<f8",
		"ev_kind": "|i1", "ev_active_remaining": "<f4", "ev_queue_ptr": "<i8"} {
		if a := arr[name]; a == nil || a.Dtype != dtype {
			t.Errorf("%s: %+v, want dtype %s", name, a, dtype)
		}
	}
	if len(arr) != len(want.fields()) {
		t.Errorf("%d arrays in the file, want %d", len(arr), len(want.fields()))
	}
}

// Bad traces: Write refuses them and Read of a file holding them names the
// file and the field.
func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		edit func(*Trace)
		want string
	}{
		{func(t *Trace) { t.FlowFCTNs = t.FlowFCTNs[:1] }, "flow_fct_ns: 1 entries, want 2"},
		{func(t *Trace) { t.FlowSize[1] = 0 }, "flow_size: flow 1: 0 bytes"},
		{func(t *Trace) { t.FlowRoute[3] = 7 }, "flow_route: entry 3: link 7"},
		{func(t *Trace) { t.FlowRoute[1] = 2 }, "flow_route: flow 0: link 2 does not leave node 2"},
		{func(t *Trace) { t.FlowRoutePtr[2] = 3 }, "flow_route_ptr: ends at 3, want 4"},
		{func(t *Trace) { t.LinkGbps[2] = 0 }, "link_gbps: link 2: 0"},
		{func(t *Trace) { t.EvTimeNs[1] = 50 }, "ev_time_ns: event 1 at 50 ns, before event 0"},
		{func(t *Trace) { t.EvKind[2] = 2 }, "ev_kind: event 2: 2, want 0 (arrival) or 1 (departure)"},
		{func(t *Trace) { t.EvTimeNs[3] = 1100 }, "ev_time_ns: event 3: flow 0 departs at 1100 ns, not at its start + FCT (1000 ns)"},
		{func(t *Trace) { t.EvActiveRemaining[0] = 9999 }, "ev_active_remaining: event 0: flow 0 arrives with 9999"},
		{func(t *Trace) { t.EvActiveRemaining[1] = -1 }, "ev_active_remaining: event 1: flow 0 has -1 of its 10000 bytes left"},
		{func(t *Trace) { t.EvActiveFlow[3] = 1 }, "ev_active_flow: event 2: flow 1 is not active"},
		{func(t *Trace) { t.EvActiveFlow[2] = 0 }, "ev_active_flow: event 1: flow 0 is listed twice"},
		{func(t *Trace) { t.EvActivePtr[2] = 2; t.EvActivePtr[3] = 3; t.EvActiveFlow[2] = 0 },
			"ev_active_flow: event 1: flow 1 arriving (kind 0) must be active"},
		{func(t *Trace) { t.EvQueueBytes[0] = 0 }, "ev_queue_bytes: event 1: link 3: 0 bytes"},
		{func(t *Trace) { t.EvQueueLink[0] = -1 }, "ev_queue_link: event 1: link -1"},
		{func(t *Trace) { t.EvQueuePtr = t.EvQueuePtr[:4] }, "ev_queue_ptr: 4 entries, want 5"},
		{func(t *Trace) {
			t.EvTimeNs, t.EvKind, t.EvFlow = t.EvTimeNs[:3], t.EvKind[:3], t.EvFlow[:3]
			t.EvActivePtr, t.EvQueuePtr = t.EvActivePtr[:4], t.EvQueuePtr[:4]
		}, "ev_flow: flow 0 has no arrival and departure"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		tr := twoFlows()
		c.edit(tr)
		path := filepath.Join(dir, "bad.npz")
		err := Write(path, tr)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("case %d: Write: %v, want %q", i, err, c.want)
		}
		if _, serr := os.Stat(path); serr == nil {
			t.Errorf("case %d: Write left a file", i)
		}
		// the same content written around the checks, then read
		writeRaw(t, path, tr)
		_, err = Read(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("case %d: Read: %v, want %q", i, err, c.want)
		}
		os.Remove(path)
	}
}

// Read names the field whose array is missing or of another dtype or shape.
func TestReadNamesTheArray(t *testing.T) {
	cases := []struct {
		edit func(map[string]npyfile.Entry)
		want string
	}{
		{func(m map[string]npyfile.Entry) { delete(m, "ev_queue_bytes") }, "ev_queue_bytes: missing"},
		{func(m map[string]npyfile.Entry) {
			m["ev_kind"] = npyfile.Entry{Name: "ev_kind", Data: []int32{0, 0, 1, 1}}
		}, "ev_kind: dtype <i4, want int8"},
		{func(m map[string]npyfile.Entry) {
			m["flow_size"] = npyfile.Entry{Name: "flow_size", Data: []float64{10000, 3000}}
		}, "flow_size: dtype <f8, want int64"},
		{func(m map[string]npyfile.Entry) {
			m["flow_route"] = npyfile.Entry{Name: "flow_route", Data: []int32{0, 3, 0, 3}, Shape: []int{2, 2}}
		}, "flow_route: shape [2 2], want one dimension"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		m := entries(twoFlows())
		c.edit(m)
		path := filepath.Join(dir, "bad.npz")
		var es []npyfile.Entry
		for _, e := range m {
			es = append(es, e)
		}
		if err := npyfile.WriteNPZ(path, es); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || err.Error() != path+": "+c.want {
			t.Errorf("case %d: %v, want %q", i, err, path+": "+c.want)
		}
	}
}

// entries returns tr's arrays by name, unchecked.
func entries(tr *Trace) map[string]npyfile.Entry {
	m := map[string]npyfile.Entry{}
	for _, f := range tr.fields() {
		m[f.name] = npyfile.Entry{Name: f.name, Data: reflect.ValueOf(f.ptr).Elem().Interface()}
	}
	return m
}

// writeRaw writes tr's arrays without Write's checks.
func writeRaw(t *testing.T, path string, tr *Trace) {
	t.Helper()
	var es []npyfile.Entry
	for _, e := range entries(tr) {
		es = append(es, e)
	}
	if err := npyfile.WriteNPZ(path, es); err != nil {
		t.Fatal(err)
	}
}

package pktsim

import (
	"reflect"
	"strings"
	"testing"

	"github.com/m4sim/m4/bindings"
	"github.com/m4sim/m4/pipeline/cc"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func equalNative(a, b bindings.PktsimConfig) bool { return reflect.DeepEqual(a, b) }

func FuzzParseConfig(f *testing.F) {
	for _, a := range cc.All() {
		c, _ := TemplateConfig(a)
		f.Add(c.Format())
	}
	f.Add("CC_MODE 8\nKMAX_MAP 1 10000000000 16\n")
	f.Fuzz(func(t *testing.T, text string) {
		if !bindings.Native {
			t.Skip("keys a file leaves out take libm4's defaults; built without cgo")
		}
		c, err := ParseConfig("fuzz", strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		back, err := ParseConfig("back", strings.NewReader(c.Format()))
		if err != nil {
			t.Fatalf("written config does not parse: %v\n%s", err, c.Format())
		}
		a, errA := c.Native()
		b, errB := back.Native()
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the config: %v %v", errA, errB)
		}
	})
}

func FuzzParseTopology(f *testing.F) {
	pl, _ := ParkingLot(5)
	f.Add(pl.Format())
	f.Add("4 1 3\n3\n0 3 10Gbps 1000ns 0\n1 3 100000Gbps 1000ns 0\n2 3 10Gbps 1000ns 0\n")
	f.Fuzz(func(t *testing.T, text string) {
		tp, err := ParseTopology("fuzz", strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		back, err := ParseTopology("fuzz", strings.NewReader(tp.Format()))
		if err != nil {
			t.Fatalf("written topology does not parse: %v", err)
		}
		if !reflect.DeepEqual(tp.Native(0), back.Native(0)) {
			t.Fatal("round trip changed the topology")
		}
	})
}

func FuzzParseFlows(f *testing.F) {
	f.Add("2\n0 0 2 3 100 1000 1.000000000\n1 1 2 3 100 20000 1.000001152\n")
	f.Fuzz(func(t *testing.T, text string) {
		fl, err := ParseFlows("fuzz", strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		back, err := ParseFlows("fuzz", strings.NewReader(fl.Format()))
		if err != nil {
			t.Fatalf("written flows do not parse: %v", err)
		}
		if !reflect.DeepEqual(fl.Native(), back.Native()) {
			t.Fatal("round trip changed the flows")
		}
	})
}

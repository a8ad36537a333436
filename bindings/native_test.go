package bindings

import "testing"

func TestSizeof(t *testing.T) {
	if !Native {
		t.Skip("built without cgo")
	}
	for i, c := range []struct {
		typ   string
		known bool
	}{
		{"m4_model_config", true},
		{"m4_checkpoint_info", true},
		{"m4_path_scenario", true},
		{"m4_model", false}, // opaque
		{"", false},
	} {
		if s := Sizeof(c.typ); (s > 0) != c.known {
			t.Errorf("case %d: Sizeof(%q) = %d", i, c.typ, s)
		}
	}
}

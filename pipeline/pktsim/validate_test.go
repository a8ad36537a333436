package pktsim

import (
	"math"
	"testing"
)

// TestSpearman: values from scipy.stats.spearmanr, ties included, and the
// constant cases.
func TestSpearman(t *testing.T) {
	for _, c := range []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5}, []float64{5, 6, 7, 8, 7}, 0.8207826816681233},
		{[]float64{1, 2, 2, 3, 10, 0.5}, []float64{3, 1, 4, 1, 5, 9}, -0.27941176470588236},
		{[]float64{1, 2, 3}, []float64{30, 20, 10}, -1},
		{[]float64{1, 2, 3}, []float64{1, 4, 9}, 1},
		{[]float64{0.3, 7, 1e-3, 5, 5, 2.5, 11}, []float64{3, 70, 1, 50, 50, 25, 110}, 1},
		{[]float64{2, 2, 2}, []float64{7, 7, 7}, 1},
		{[]float64{2, 2, 2}, []float64{1, 2, 3}, math.NaN()},
	} {
		got := Spearman(c.a, c.b)
		tol := 1e-12
		if c.want == 1 || c.want == -1 {
			tol = 0 // identical or reversed rankings: exactly (pktsim --validate prints 1.0000 for exact runs)
		}
		if math.IsNaN(c.want) != math.IsNaN(got) || !math.IsNaN(got) && math.Abs(got-c.want) > tol {
			t.Errorf("Spearman(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

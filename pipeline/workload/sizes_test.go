package workload

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// ksStat returns the Kolmogorov-Smirnov distance between the sample and cdf.
func ksStat(sample []float64, cdf func(float64) float64) float64 {
	sort.Float64s(sample)
	n := float64(len(sample))
	d := 0.0
	for i, x := range sample {
		f := cdf(x)
		d = math.Max(d, math.Max(math.Abs(float64(i+1)/n-f), math.Abs(f-float64(i)/n)))
	}
	return d
}

func TestEmbeddedCDFSampling(t *testing.T) {
	const n = 20000
	crit := 1.63 / math.Sqrt(n)     // KS critical value at the 1% level
	wantMean := map[string]float64{ // trapezoid means of the published points
		"webserver": 91342.975, "hadoop": 568754.554, "cachefollower": 609882.958,
		"websearch": 1711250, "googlerpc": 2891.621, "fbhdp": 120420.75, "alistorage": 40869.8,
	}
	for i, name := range EmpiricalNames {
		c, err := Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := c.Mean(); math.Abs(m-wantMean[name]) > 1e-3*wantMean[name] {
			t.Errorf("case %d (%s): mean %v, want %v", i, name, m, wantMean[name])
		}
		r := rand.New(rand.NewPCG(uint64(i), 1))
		raw := make([]float64, n)
		for k := range raw {
			raw[k] = c.Quantile(r.Float64() * 100)
		}
		if d := ksStat(raw, c.Prob); d > crit {
			t.Errorf("case %d (%s): KS distance %.4f > %.4f", i, name, d, crit)
		}
		// Sample is the rounded quantile of the same uniform draw.
		r1, r2 := rand.New(rand.NewPCG(9, 9)), rand.New(rand.NewPCG(9, 9))
		for k := 0; k < 100; k++ {
			want := max(1, int64(math.Round(c.Quantile(r2.Float64()*100))))
			if got := c.Sample(r1); got != want {
				t.Fatalf("case %d (%s): Sample %d, want %d", i, name, got, want)
			}
		}
	}
	// The quantile interpolates linearly: websearch's 15 % .. 20 % span
	// 10000 .. 20000 bytes.
	c, _ := Embedded("websearch")
	if q := c.Quantile(17.5); q != 15000 {
		t.Errorf("websearch quantile(17.5) = %v, want 15000", q)
	}
	if p := c.Prob(15000); math.Abs(p-0.175) > 1e-12 {
		t.Errorf("websearch prob(15000) = %v, want 0.175", p)
	}
	if _, err := Embedded("nope"); err == nil || !strings.Contains(err.Error(), "webserver") {
		t.Errorf("unknown CDF: %v", err)
	}
}

func TestParseCDFErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"", "c.txt: empty CDF"},
		{"# only a comment\n", "c.txt: empty CDF"},
		{"0 100\n", "one point"},
		{"0 0\n10 50\n5 100\n", "c.txt:3: CDF not strictly increasing"},
		{"0 0\n10 60\n20 50\n30 100\n", "c.txt:3: CDF not strictly increasing"},
		{"0 0\n10 90\n", "ends at 90"},
		{"0 0\n10 abc\n", "c.txt:2: percent"},
		{"0 0\n-1 100\n", "c.txt:2: size"},
		{"0 0 1\n", "c.txt:1: want 2 fields"},
		{"0 0\nNaN 100\n", "c.txt:2: size"},
	}
	for i, c := range cases {
		_, err := ParseCDF("c.txt", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "my.cdf")
	os.WriteFile(path, []byte("100 0\n300 100\n"), 0o644)
	c, err := LoadCDF(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mean() != 200 || c.Quantile(0) != 100 || c.Name() != "file:my.cdf" {
		t.Errorf("uniform 100..300: mean %v, q0 %v, name %s", c.Mean(), c.Quantile(0), c.Name())
	}
}

func TestParametricSizes(t *testing.T) {
	const n = 200000
	for i, kind := range ParametricNames {
		for _, sigma := range []float64{5000, 20000, 50000} {
			p, err := NewParametric(kind, sigma)
			if err != nil {
				t.Fatalf("%s %v: %v", kind, sigma, err)
			}
			r := rand.New(rand.NewPCG(uint64(i), uint64(sigma)))
			sum, lo := 0.0, int64(math.MaxInt64)
			for k := 0; k < n; k++ {
				s := p.Sample(r)
				sum += float64(s)
				lo = min(lo, s)
			}
			mean := sum / n
			if rel := math.Abs(mean-p.Mean()) / p.Mean(); rel > 0.02 {
				t.Errorf("%s: sample mean %.1f, Mean() %.1f (%.1f%% off)", p.Name(), mean, p.Mean(), 100*rel)
			}
			if lo < 50 {
				t.Errorf("%s: a %d B flow; m3's minimum is 50 B", p.Name(), lo)
			}
			// m3's base mean (sigma/5000)^2 kB is the exp and lognorm mean
			if kind == "exp" || kind == "lognorm" {
				if want := 1000 * (sigma / 5000) * (sigma / 5000); math.Abs(p.Mean()+0.5-want) > 1e-9*want {
					t.Errorf("%s: Mean %v, want %v", p.Name(), p.Mean(), want-0.5)
				}
			}
		}
	}
	if _, err := NewParametric("zipf", 10000); err == nil || !strings.Contains(err.Error(), "zipf") {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := NewParametric("exp", -1); err == nil {
		t.Error("negative sigma accepted")
	}
}

// Prob returns the cumulative probability (0..1) of sizes <= x.
func (c *CDF) Prob(x float64) float64 {
	i := sort.SearchFloat64s(c.x, x)
	switch {
	case i == len(c.x):
		return 1
	case c.x[i] == x:
		return c.y[i] / 100
	case i == 0:
		return 0
	}
	x0, y0, x1, y1 := c.x[i-1], c.y[i-1], c.x[i], c.y[i]
	return (y0 + (y1-y0)/(x1-x0)*(x-x0)) / 100
}

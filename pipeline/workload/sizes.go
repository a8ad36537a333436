package workload

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/cdf/*.txt
var cdfFiles embed.FS

// SizeDist draws flow sizes.
type SizeDist interface {
	// Name says what the distribution is, for summaries.
	Name() string
	// Sample draws one size in payload bytes, >= 1.
	Sample(r *rand.Rand) int64
	// Mean returns the mean of Sample in bytes.
	Mean() float64
}

// EmpiricalNames lists the embedded empirical size distributions.
var EmpiricalNames = []string{"webserver", "hadoop", "cachefollower", "websearch", "googlerpc", "fbhdp", "alistorage"}

// ParametricNames lists m3's parametric size distributions.
var ParametricNames = []string{"exp", "gaussian", "lognorm", "pareto"}

// CDF is an empirical size distribution: points (size, cumulative percent)
// with sizes between points interpolated linearly, as the HPCC fork's and
// Parsimon's traffic generators read such files.
type CDF struct {
	name string
	x, y []float64 // bytes, percent; strictly increasing, y ends at 100
}

// Embedded returns the named embedded CDF (see EmpiricalNames).
func Embedded(name string) (*CDF, error) {
	b, err := cdfFiles.ReadFile("data/cdf/" + name + ".txt")
	if err != nil {
		return nil, fmt.Errorf("no embedded size distribution %q (known: %s)", name, strings.Join(EmpiricalNames, ", "))
	}
	return ParseCDF(name, b)
}

// LoadCDF reads a CDF file: one "size_bytes cumulative_percent" pair per
// line; blank lines and lines starting with # are skipped.
func LoadCDF(path string) (*CDF, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCDF(path, b)
	if err != nil {
		return nil, err
	}
	c.name = "file:" + filepath.Base(path)
	return c, nil
}

// ParseCDF parses CDF text; name (a file name) prefixes errors, which give
// the line. The CDF must have at least two points, sizes >= 0 and percents
// in [0, 100] both strictly increasing, and end at 100 %.
func ParseCDF(name string, data []byte) (*CDF, error) {
	c := &CDF{name: name}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want 2 fields (size_bytes percent), got %d", name, line, len(f))
		}
		x, err1 := strconv.ParseFloat(f[0], 64)
		y, err2 := strconv.ParseFloat(f[1], 64)
		switch {
		case err1 != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0:
			return nil, fmt.Errorf("%s:%d: size %q is not a finite number >= 0", name, line, f[0])
		case err2 != nil || math.IsNaN(y) || y < 0 || y > 100:
			return nil, fmt.Errorf("%s:%d: percent %q is not a number in [0, 100]", name, line, f[1])
		}
		if n := len(c.x); n > 0 && (x <= c.x[n-1] || y <= c.y[n-1]) {
			return nil, fmt.Errorf("%s:%d: CDF not strictly increasing: (%v, %v) after (%v, %v)", name, line, x, y, c.x[n-1], c.y[n-1])
		}
		c.x = append(c.x, x)
		c.y = append(c.y, y)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case len(c.x) == 0:
		return nil, fmt.Errorf("%s: empty CDF (no points)", name)
	case len(c.x) == 1:
		return nil, fmt.Errorf("%s: CDF has one point; want at least two", name)
	case math.Abs(c.y[len(c.y)-1]-100) > 1e-9:
		return nil, fmt.Errorf("%s: CDF ends at %v %%, want 100", name, c.y[len(c.y)-1])
	}
	return c, nil
}

// Name returns the distribution's name.
func (c *CDF) Name() string { return c.name }

// Quantile returns the size at cumulative percent p in [0, 100]: the first
// point's size for p at or below its percent, else linear interpolation.
func (c *CDF) Quantile(p float64) float64 {
	i := sort.SearchFloat64s(c.y, p) // first y >= p
	if i == 0 {
		return c.x[0]
	}
	if i == len(c.y) {
		return c.x[len(c.x)-1]
	}
	x0, y0, x1, y1 := c.x[i-1], c.y[i-1], c.x[i], c.y[i]
	return x0 + (x1-x0)/(y1-y0)*(p-y0)
}

// Sample draws a size: the quantile of a uniform percent, rounded to whole
// bytes, at least 1.
func (c *CDF) Sample(r *rand.Rand) int64 {
	return max(1, int64(math.Round(c.Quantile(r.Float64()*100))))
}

// Mean returns the mean size of the piecewise-linear distribution.
func (c *CDF) Mean() float64 {
	s := c.x[0] * c.y[0]
	for i := 1; i < len(c.x); i++ {
		s += (c.x[i] + c.x[i-1]) / 2 * (c.y[i] - c.y[i-1])
	}
	return s / 100
}

// Parametric is one of m3's synthetic size distributions (its data
// generator's traffic_gen_synthetic): exp, gaussian, lognorm or pareto,
// parameterised by a size sigma in bytes (m3 draws it in [5000, 50000]).
// With base = 1000 B * (sigma/5000)^2 the mean size, sizes in bits are
// 400 + X, floored to bytes, where X is
//   - exp: exponential with mean 8*base - 400;
//   - gaussian: normal(8*base - 400, 8*base) redrawn until >= 0;
//   - lognorm: lognormal with mean 8*base - 400 and shape s = sigma/50000 + 1;
//   - pareto: generalised Pareto with scale floor(8*base/2) and the shape psi
//     solving (1 + psi*(8*base - 400)/scale)^(1/psi) = 5.
type Parametric struct {
	kind    string
	sigma   float64
	avgBits float64 // 8*base
	shape   float64 // lognorm s, pareto psi
	scale   float64 // pareto scale (bits)
}

const minSizeBits = 400 // m3's 50 B minimum

// NewParametric returns the named parametric distribution with size sigma
// in bytes.
func NewParametric(kind string, sigma float64) (*Parametric, error) {
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("size sigma = %v, want a finite number of bytes > 0", sigma)
	}
	p := &Parametric{kind: kind, sigma: sigma, avgBits: 8000 * (sigma / 5000) * (sigma / 5000)}
	if p.avgBits <= 2*minSizeBits {
		return nil, fmt.Errorf("size sigma = %v gives a mean of %v B; want sigma > %v", sigma, p.avgBits/8, 5000*math.Sqrt(0.1))
	}
	switch kind {
	case "exp", "gaussian":
	case "lognorm":
		p.shape = sigma/50000 + 1
	case "pareto":
		p.scale = math.Floor(p.avgBits / 2)
		a := (p.avgBits - minSizeBits) / p.scale
		f := func(x float64) float64 { return math.Pow(1+x*a, 1/x) - 5 } // decreasing in x
		if f(1e-6) <= 0 || f(1) >= 0 {
			return nil, fmt.Errorf("pareto: no shape in (0, 1) for size sigma %v", sigma)
		}
		lo, hi := 1e-6, 1.0
		for i := 0; i < 100; i++ {
			mid := (lo + hi) / 2
			if f(mid) > 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		p.shape = (lo + hi) / 2
	default:
		return nil, fmt.Errorf("unknown parametric size distribution %q (known: %s)", kind, strings.Join(ParametricNames, ", "))
	}
	return p, nil
}

// Name returns e.g. "lognorm(sigma=20000)".
func (p *Parametric) Name() string { return fmt.Sprintf("%s(sigma=%g)", p.kind, p.sigma) }

// Sample draws a size in bytes.
func (p *Parametric) Sample(r *rand.Rand) int64 {
	mu := p.avgBits - minSizeBits
	var x float64
	switch p.kind {
	case "exp":
		x = r.ExpFloat64() * mu
	case "gaussian":
		for x = -1; x < 0; {
			x = mu + p.avgBits*r.NormFloat64()
		}
	case "lognorm":
		m := math.Log(mu) - p.shape*p.shape/2
		x = math.Exp(m + p.shape*r.NormFloat64())
	case "pareto":
		u := r.Float64()
		x = p.scale * (math.Pow(1-u, -p.shape) - 1) / p.shape
	}
	return max(1, int64((minSizeBits+x)/8))
}

// Mean returns the mean size in bytes (flooring to whole bytes taken as
// losing half a byte on average).
func (p *Parametric) Mean() float64 {
	mu := p.avgBits - minSizeBits
	var ex float64
	switch p.kind {
	case "exp", "lognorm":
		ex = mu
	case "gaussian": // normal(mu, avg) truncated to >= 0
		alpha := -mu / p.avgBits
		phi := math.Exp(-alpha*alpha/2) / math.Sqrt(2*math.Pi)
		ex = mu + p.avgBits*phi/(0.5*math.Erfc(alpha/math.Sqrt2))
	case "pareto":
		ex = p.scale / (1 - p.shape)
	}
	return (minSizeBits+ex)/8 - 0.5
}

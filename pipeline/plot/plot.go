// Package plot draws m4's results: FCT slowdown CDFs per flow-size bucket,
// one panel per bucket, one line per estimator (m4, flowsim, ground truth),
// as PNG or SVG (chosen by the file's extension), written atomically.
package plot

import (
	"bufio"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/m4sim/m4/pipeline/atomicfile"
)

// Series is one estimator's CDF in one panel: X are slowdowns, Y cumulative
// fractions in (0, 1].
type Series struct {
	Name string
	X, Y []float64
	// Color and Dashed style the line; a nil Color takes the palette's
	// colour for the series' position.
	Color  color.Color
	Dashed bool
}

// Panel is one flow-size bucket's plot: CDFs of slowdowns on a log axis,
// or, with XLabel set, of another quantity on a linear axis from 0.
type Panel struct {
	Title  string
	Series []Series
	XLabel string
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// CDFs draws the panels side by side (up to 3 per row) into path (.png or .svg).
func CDFs(path, title string, panels []Panel) error {
	if len(panels) == 0 {
		return fmt.Errorf("plot %s: no panels", path)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("plot %s: unsupported format %q (want .png or .svg)", path, ext)
	}
	cols := min(3, len(panels))
	rows := (len(panels) + cols - 1) / cols
	plots := make([][]*gplot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*gplot.Plot, cols)
	}
	for i, pn := range panels {
		p, err := panelPlot(pn)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		plots[i/cols][i%cols] = p
	}
	w, h := vg.Length(cols)*4*vg.Inch, vg.Length(rows)*3.2*vg.Inch
	var canvas vg.CanvasSizer
	if ext == ".png" {
		canvas = vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	} else {
		canvas = vgsvg.New(w, h)
	}
	dc := draw.New(canvas)
	padTop := vg.Millimeter * 2
	if title != "" {
		padTop = vg.Millimeter * 9
		sty := draw.TextStyle{Color: color.Black, Font: gplot.DefaultFont, Handler: gplot.DefaultTextHandler,
			XAlign: draw.XCenter, YAlign: draw.YTop}
		sty.Font.Size = vg.Points(13)
		dc.FillText(sty, vg.Point{X: w / 2, Y: h - vg.Millimeter*2}, title)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: padTop, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := gplot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			if plots[r][c] != nil {
				plots[r][c].Draw(canvases[r][c])
			}
		}
	}
	return atomicfile.Write(path, func(wr io.Writer) error {
		if img, ok := canvas.(*vgimg.Canvas); ok {
			// fastest deflate: a few lines on white compress well anyway
			bw := bufio.NewWriter(wr)
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(bw, img.Image()); err != nil {
				return err
			}
			return bw.Flush()
		}
		_, err := canvas.(*vgsvg.Canvas).WriteTo(wr)
		return err
	})
}

func panelPlot(pn Panel) (*gplot.Plot, error) {
	p := gplot.New()
	p.Title.Text = pn.Title
	p.Y.Label.Text = "CDF"
	logX := pn.XLabel == ""
	if logX {
		p.X.Label.Text = "FCT slowdown"
		p.X.Scale = gplot.LogScale{}
		p.X.Tick.Marker = slowdownTicks{}
	} else {
		p.X.Label.Text = pn.XLabel
		p.X.Min = 0
	}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	for i, s := range pn.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("%s/%s: %d x values, %d y values", pn.Title, s.Name, len(s.X), len(s.Y))
		}
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			x := s.X[j]
			if math.IsNaN(x) || math.IsInf(x, 0) || (logX && x <= 0) {
				continue // log axis: slowdowns are >= 1 in practice
			}
			pts = append(pts, plotter.XY{X: x, Y: s.Y[j]})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = s.Color
		if l.Color == nil {
			l.Color = palette[i%len(palette)]
		}
		l.Width = vg.Points(1.6)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	return p, nil
}

// slowdownTicks labels a log axis at 1, 2 and 5 times powers of ten, with
// unlabelled minor ticks in between, so that narrow ranges (1 to 10) still
// read well.
type slowdownTicks struct{}

func (slowdownTicks) Ticks(lo, hi float64) []gplot.Tick {
	var ticks []gplot.Tick
	if !(lo > 0) || !(hi > lo) {
		return ticks
	}
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			t := gplot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

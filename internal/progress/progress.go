// Package progress reports the progress of long loops (training epochs,
// data generation) on a writer: an animated progress bar with an ETA when
// the writer is a terminal, and otherwise (a log file, a pipe) a plain line
// now and then, so that logs do not fill with every frame of a bar.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Reporter counts finished items of a loop.
type Reporter interface {
	// Add records n more finished items.
	Add(n int)
	// Describe changes the description shown with the count.
	Describe(desc string)
	// Finish ends the report (a last line, or the finished bar).
	Finish()
}

// Options shape a report.
type Options struct {
	Desc string // what is counted, shown before the count
	Unit string // name of an item ("steps", "shards")
	// Every is the least time between two lines when w is not a terminal;
	// 0 prints only the final line (set Quiet to print nothing at all).
	Every time.Duration
	Quiet bool // not a terminal: no lines (the caller reports by itself)
}

// New returns a Reporter of total items on w: a progress bar if w is a
// terminal, else lines (see Options).
func New(w io.Writer, total int, o Options) Reporter {
	if IsTerminal(w) {
		return &bar{progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(o.Desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(o.Unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(25),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))}
	}
	return &lines{w: w, total: total, o: o, desc: o.Desc, start: time.Now(), last: time.Now()}
}

type bar struct{ b *progressbar.ProgressBar }

func (b *bar) Add(n int)            { b.b.Add(n) }
func (b *bar) Describe(desc string) { b.b.Describe(desc) }
func (b *bar) Finish() {
	if !b.b.IsFinished() {
		b.b.Finish()
	}
}

// lines writes "desc: done/total unit (rate, ETA)" lines.
type lines struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	done     int
	o        Options
	desc     string
	start    time.Time
	last     time.Time
	finished bool
}

func (l *lines) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if l.o.Quiet || l.o.Every <= 0 || l.done >= l.total {
		return
	}
	if now := time.Now(); now.Sub(l.last) >= l.o.Every {
		l.last = now
		l.line(now)
	}
}

func (l *lines) Describe(desc string) {
	l.mu.Lock()
	l.desc = desc
	l.mu.Unlock()
}

func (l *lines) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished || l.o.Quiet {
		return
	}
	l.finished = true
	l.line(time.Now())
}

func (l *lines) line(now time.Time) {
	el := now.Sub(l.start)
	rate := 0.0
	if el > 0 {
		rate = float64(l.done) / el.Seconds()
	}
	eta := ""
	if rate > 0 && l.done < l.total {
		eta = fmt.Sprintf(", about %s left", readable(time.Duration(float64(l.total-l.done)/rate*float64(time.Second))))
	}
	fmt.Fprintf(l.w, "%s: %d/%d %s in %s (%.1f %s/s%s)\n", l.desc, l.done, l.total, l.o.Unit,
		readable(el), rate, l.o.Unit, eta)
}

// readable rounds d to a tenth of a second below 10 s, else to the second.
func readable(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

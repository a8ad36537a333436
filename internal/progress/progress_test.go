package progress

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLinesWhenNotATerminal(t *testing.T) {
	cases := []struct {
		name  string
		o     Options
		lines int // lines written over 10 Adds and Finish
	}{
		{"final line only", Options{Desc: "datagen", Unit: "shards"}, 1},
		{"quiet", Options{Desc: "epoch", Unit: "steps", Quiet: true}, 0},
		{"every add", Options{Desc: "datagen", Unit: "shards", Every: time.Nanosecond}, 10}, // 9 in the loop + the final one
	}
	for _, c := range cases {
		var buf bytes.Buffer
		r := New(&buf, 10, c.o)
		for i := 0; i < 10; i++ {
			time.Sleep(time.Microsecond)
			r.Add(1)
		}
		r.Finish()
		r.Finish() // a second Finish writes nothing more
		got := strings.Count(buf.String(), "\n")
		if got != c.lines {
			t.Errorf("%s: %d lines, want %d:\n%s", c.name, got, c.lines, buf.String())
		}
		if c.lines > 0 {
			last := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if l := last[len(last)-1]; !strings.HasPrefix(l, c.o.Desc+": 10/10 "+c.o.Unit) {
				t.Errorf("%s: last line %q", c.name, l)
			}
		}
		if strings.Contains(buf.String(), "\r") {
			t.Errorf("%s: carriage returns (bar frames) in a log: %q", c.name, buf.String())
		}
	}
}

// TestLineTimes: elapsed time and ETA keep their fraction of a second (a
// run of 0.64 s once read "in 0s").
func TestLineTimes(t *testing.T) {
	for _, c := range []struct {
		done, total int
		el          time.Duration
		want        string
	}{
		{1943, 1943, 643 * time.Millisecond, "paths: 1943/1943 paths in 600ms (3021.8 paths/s)\n"},
		{10, 40, 2500 * time.Millisecond, "paths: 10/40 paths in 2.5s (4.0 paths/s, about 7.5s left)\n"},
		{10, 40, 25 * time.Second, "paths: 10/40 paths in 25s (0.4 paths/s, about 1m15s left)\n"},
	} {
		var buf bytes.Buffer
		start := time.Unix(1000, 0)
		l := &lines{w: &buf, total: c.total, done: c.done, o: Options{Unit: "paths"}, desc: "paths", start: start}
		l.line(start.Add(c.el))
		if buf.String() != c.want {
			t.Errorf("%d/%d in %v: %q, want %q", c.done, c.total, c.el, buf.String(), c.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(&bytes.Buffer{}) {
		t.Error("a file or a buffer taken for a terminal")
	}
}

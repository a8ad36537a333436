package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/m4sim/m4/internal/progress"
)

// progressEvery is how often a log (stderr that is not a terminal) gets a
// progress line.
const progressEvery = 5 * time.Second

// loopProgress reports a loop that knows its total only once it runs: a
// bar when stderr is a terminal, else a line every progressEvery and a
// last one (nothing with --no-progress).
type loopProgress struct {
	c          *cli.Context
	desc, unit string
	r          progress.Reporter
	done       int
}

func newProgress(c *cli.Context, desc, unit string) *loopProgress {
	return &loopProgress{c: c, desc: desc, unit: unit}
}

// update records that done of total items are finished (calls must not
// overlap).
func (p *loopProgress) update(done, total int) {
	if p.c.Bool("no-progress") {
		return
	}
	if p.r == nil {
		p.r = progress.New(p.c.App.ErrWriter, total, progress.Options{Desc: p.desc, Unit: p.unit, Every: progressEvery})
	}
	if done > p.done {
		p.r.Add(done - p.done)
		p.done = done
	}
}

// finish ends the report.
func (p *loopProgress) finish() {
	if p.r != nil {
		p.r.Finish()
	}
}

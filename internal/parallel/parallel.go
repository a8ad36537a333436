// Package parallel runs the iterations of a loop on a pool of goroutines.
//
// It owns one pattern the pipeline needs in several places: call f(i) for
// every i in [0, n) on a few workers and stop at an error. Callers write
// each result at its index, so what they compute does not depend on the
// scheduling, and the error they get is the one a plain loop would give.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(worker, i) for every i in [0, n) on min(workers, n)
// goroutines and returns once every call has returned; workers <= 0 means
// runtime.GOMAXPROCS(0). Items are handed out in ascending order from a
// shared counter. worker, in [0, min(workers, n)), names the goroutine
// making the call: no two calls with the same worker run at once, so f may
// keep scratch space per worker.
//
// Once a call fails no further item is handed out; calls already under way
// finish. For returns the error of the lowest i that failed, as a
// sequential loop would: every item below a failed one was handed out
// before it, so it ran too. With n <= 0 f is not called.
func For(n, workers int, f func(worker, i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 0 {
		return nil
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		mu     sync.Mutex
		first  = n // the lowest item that failed
		err    error
	)
	work := func(w int) {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			// An item handed out is always run: the lowest failure
			// is then reached whatever the scheduling.
			if e := f(w, i); e != nil {
				mu.Lock()
				if i < first {
					first, err = i, e
				}
				mu.Unlock()
				failed.Store(true)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { work(w) })
	}
	wg.Wait()
	return err
}

// Each calls work(i) for every i in [0, n) on min(workers, n) goroutines
// and hands each result to collect on the calling goroutine, in the order
// the calls finish (so collect needs no lock). Unlike For, a result that is
// an error stops nothing: long batch jobs (datagen) report each failure and
// go on. Once ctx is done no further item is handed out; calls under way
// finish and are collected, and Each returns ctx.Err(). workers <= 0 means
// runtime.GOMAXPROCS(0).
func Each[R any](ctx context.Context, n, workers int, work func(i int) R, collect func(i int, r R)) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	type done struct {
		i int
		r R
	}
	results := make(chan done)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 0) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				results <- done{i, work(i)}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	for d := range results {
		collect(d.i, d.r)
	}
	return ctx.Err()
}

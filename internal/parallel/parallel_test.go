package parallel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestForEveryIndexOnce: each item runs once, on a worker in range, and no
// worker runs two items at once.
func TestForEveryIndexOnce(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	cases := []struct {
		name        string
		n, workers  int
		wantWorkers int // the workers For may use
	}{
		{"no items", 0, 4, 0},
		{"negative n", -3, 4, 0},
		{"one item", 1, 1, 1},
		{"more workers than items", 5, 100, 5},
		{"one worker", 100, 1, 1},
		{"several workers", 1000, 3, 3},
		{"zero workers: GOMAXPROCS", 1000, 0, min(procs, 1000)},
		{"negative workers: GOMAXPROCS", 1000, -1, min(procs, 1000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runs := make([]atomic.Int32, max(c.n, 0))
			busy := make([]atomic.Bool, max(c.wantWorkers, 1))
			var bad atomic.Int32 // calls with a worker out of range or busy
			err := For(c.n, c.workers, func(w, i int) error {
				if w < 0 || w >= c.wantWorkers {
					bad.Add(1)
					return nil
				}
				if busy[w].Swap(true) {
					bad.Add(1)
				}
				runs[i].Add(1)
				busy[w].Store(false)
				return nil
			})
			if err != nil {
				t.Fatalf("For: %v", err)
			}
			if b := bad.Load(); b > 0 {
				t.Errorf("%d calls on a worker out of [0, %d) or already busy", b, c.wantWorkers)
			}
			for i := range runs {
				if r := runs[i].Load(); r != 1 {
					t.Errorf("item %d ran %d times", i, r)
				}
			}
		})
	}
}

// TestForError: For returns the error of the lowest item that fails and
// hands out no more items after a failure.
func TestForError(t *testing.T) {
	cases := []struct {
		name       string
		n, workers int
		fail       []int         // items that fail
		slow       int           // an item that takes a while (-1: none)
		delay      time.Duration // how long every other item takes
		want       int           // the item whose error For returns
		after      int           // most items above want that may start (-1: any)
	}{
		{"one worker stops at the failure", 100, 1, []int{10, 20}, -1, 0, 10, 0},
		{"first item", 10, 1, []int{0}, -1, 0, 0, 0},
		{"last item", 50, 3, []int{49}, -1, 0, 49, -1},
		{"lowest of several, though slowest", 200, 4, []int{150, 7, 3}, 3, 0, 3, -1},
		{"every item fails", 30, 4, nil, -1, 0, 0, -1},
		// Handing out stops: the other workers take only a few more
		// items, not the 999 left (4 s of work).
		{"several workers stop", 1000, 4, []int{0}, -1, 4 * time.Millisecond, 0, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fails := map[int]bool{}
			for _, i := range c.fail {
				fails[i] = true
			}
			for range 20 { // different schedules
				var above atomic.Int32
				err := For(c.n, c.workers, func(_, i int) error {
					if i > c.want {
						above.Add(1)
					}
					if i == c.slow {
						time.Sleep(time.Millisecond)
					}
					if c.fail == nil || fails[i] {
						return fmt.Errorf("item %d: %w", i, errItem(i))
					}
					time.Sleep(c.delay)
					return nil
				})
				var got errItem
				if !errors.As(err, &got) || int(got) != c.want {
					t.Fatalf("For returned %v; want item %d's error", err, c.want)
				}
				if a := int(above.Load()); c.after >= 0 && a > c.after {
					t.Fatalf("%d items above %d started; want at most %d", a, c.want, c.after)
				}
			}
		})
	}
}

// errItem is the error of a failing item in TestForError.
type errItem int

func (e errItem) Error() string { return fmt.Sprintf("item %d failed", int(e)) }

// TestEach: every item's result reaches collect once, one at a time; a
// failing item stops nothing; a cancelled context stops handing out items.
func TestEach(t *testing.T) {
	for _, workers := range []int{1, 3, 0} {
		const n = 200
		seen := make([]int, n)
		var inCollect atomic.Int32
		failures := 0
		err := Each(context.Background(), n, workers, func(i int) error {
			if i%7 == 3 {
				return fmt.Errorf("item %d", i)
			}
			return nil
		}, func(i int, e error) {
			if inCollect.Add(1) != 1 {
				t.Error("two collects at once")
			}
			seen[i]++
			if e != nil {
				if e.Error() != fmt.Sprintf("item %d", i) {
					t.Errorf("item %d got %v", i, e)
				}
				failures++
			}
			inCollect.Add(-1)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("workers %d: item %d collected %d times", workers, i, c)
			}
		}
		if failures != 29 { // 3, 10, ..., 199
			t.Errorf("workers %d: %d failures, want 29", workers, failures)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := 0
	err := Each(ctx, 1000, 2, func(i int) int { time.Sleep(time.Millisecond); return i }, func(i, r int) {
		if r != i {
			t.Errorf("item %d: result %d", i, r)
		}
		if got++; got == 10 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || got < 10 || got > 14 {
		t.Errorf("cancelled after 10: %v, %d collected", err, got)
	}
	if err := Each(context.Background(), 0, 4, func(int) int { t.Error("called"); return 0 }, func(int, int) {}); err != nil {
		t.Error(err)
	}
}

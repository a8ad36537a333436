package datagen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestRunBatch: the task's wanted, unfinished items are made, each
// collected once; the counts say what was chosen; a cancelled run keeps its
// report and says what is kept; a manifest that refuses stops the start.
func TestRunBatch(t *testing.T) {
	finished := map[int]bool{5: true}
	var made []int
	manifests := 0
	b := &Batch[int]{Name: "test", Items: "items", Out: filepath.Join(t.TempDir(), "out"), Task: Task{Index: 1, Count: 2},
		Workers: 3, Unit: "things", Total: 10,
		Manifest: func() error { manifests++; return nil },
		Want:     func(i int) bool { return i != 7 },
		Finished: func(i int) (bool, error) { return finished[i], nil },
		Make:     func(i int) int { return i * i },
	}
	b.Collect = func(i, r int, busy time.Duration) {
		if r != i*i || busy < 0 {
			t.Errorf("item %d: result %d, busy %v", i, r, busy)
		}
		made = append(made, i)
	}
	r, err := RunBatch(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(made)
	if !slices.Equal(made, []int{6, 8, 9}) || r.Total != 10 || r.Mine != 4 || r.Skipped != 1 || manifests != 1 || b.Log == nil {
		t.Errorf("made %v, report %+v, %d manifests", made, r, manifests)
	}
	if st, err := os.Stat(b.Out); err != nil || !st.IsDir() {
		t.Errorf("output folder: %v", err)
	}

	// Defaults: the whole task, every core.
	b.Task, b.Workers, made = Task{}, 0, nil
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err = RunBatch(ctx, b)
	want := "datagen stopped: context canceled (finished things are kept; run again to resume)"
	if r == nil || err == nil || err.Error() != want || !errors.Is(err, context.Canceled) || r.Mine != 9 || len(made) != 0 {
		t.Errorf("cancelled: %+v, %v; want the report and %q", r, err, want)
	}
	if b.Task != Whole() || b.Workers < 1 {
		t.Errorf("defaults: task %v, %d workers", b.Task, b.Workers)
	}

	refuse := errors.New("holds another spec")
	b.Manifest = func() error { return refuse }
	if r, err := RunBatch(context.Background(), b); r != nil || !errors.Is(err, refuse) {
		t.Errorf("refused manifest: %+v, %v", r, err)
	}
}

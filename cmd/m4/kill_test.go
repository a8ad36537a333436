package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m4sim/m4/pipeline/model"
)

// TestKilledRunsResume kills `m4 datagen` and `m4 train` (built with go build,
// run as subprocesses) with SIGKILL half-way, checks that no half-written
// file or folder is left under an output name, resumes them, and checks that
// the result equals an uninterrupted run's.
func TestKilledRunsResume(t *testing.T) {
	bin := m4Binary(t, "several times (about 20 s)")
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(spec, []byte("seed: 3\nshards: {count: 12}\nhosts: [3, 5, 7]\nflows_per_pair: 150\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	datagen := func(out string) []string {
		return []string{"datagen", "--spec", spec, "--out", out, "--no-progress", "--workers", "1"}
	}
	mustRun(t, bin, datagen(data)...)

	t.Run("datagen", func(t *testing.T) {
		out := filepath.Join(dir, "killed")
		// SIGKILL once three scenario folders are complete
		killWhen(t, bin, datagen(out), func() bool { return len(shardDirs(t, out)) >= 3 })
		done := shardDirs(t, out)
		if len(done) >= 36 {
			t.Fatalf("the run finished before the kill (%d scenarios): make it longer", len(done))
		}
		// every folder under its final name is complete: the uninterrupted run's
		for _, name := range done {
			sameTree(t, filepath.Join(data, name), filepath.Join(out, name))
		}
		partial, _ := filepath.Glob(filepath.Join(out, ".partial-*"))
		t.Logf("killed after %d of 36 scenarios; %d half-written folder(s) left under .partial-* names", len(done), len(partial))
		mustRun(t, bin, datagen(out)...)
		if left, _ := filepath.Glob(filepath.Join(out, ".partial-*")); len(left) > 0 {
			t.Errorf("the resumed run left %v", left)
		}
		sameTree(t, data, out)
	})

	t.Run("train", func(t *testing.T) {
		args := func(out string) []string {
			return []string{"train", "--data", data, "--out", out, "--epochs", "120", "--patience", "0", "--dim", "16",
				"--layers", "1", "--heads", "2", "--hidden", "32", "--mlp-hidden", "32", "--threads", "1"}
		}
		full := filepath.Join(dir, "full.safetensors")
		mustRun(t, bin, args(full)...)
		ck := filepath.Join(dir, "killed.safetensors")
		start := time.Time{}
		killWhen(t, bin, args(ck), func() bool {
			if _, err := os.Stat(ck + ".resume"); err != nil {
				return false
			}
			if start.IsZero() {
				start = time.Now()
			}
			return time.Since(start) > 300*time.Millisecond
		})
		// both files under their names are whole checkpoints
		best, err := model.Load(ck)
		if err != nil {
			t.Fatalf("after the kill: %v", err)
		}
		res, err := model.Load(ck + ".resume")
		if err != nil {
			t.Fatalf("after the kill: %v", err)
		}
		if res.Training.Epochs >= 120 || res.Optim == nil || best.Training == nil {
			t.Fatalf("killed at epoch %d of 120 (resume state %v): make the run longer", res.Training.Epochs, res.Optim != nil)
		}
		tmp, _ := filepath.Glob(filepath.Join(dir, ".killed.safetensors*.tmp-*"))
		t.Logf("killed after epoch %d of 120; %d temporary file(s) left under hidden names", res.Training.Epochs, len(tmp))
		mustRun(t, bin, append(args(ck), "--resume")...)
		for _, suffix := range []string{"", ".resume"} {
			a, err := model.Load(full + suffix)
			if err != nil {
				t.Fatal(err)
			}
			b, err := model.Load(ck + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if a.Training.Epochs != b.Training.Epochs || a.Training.Steps != b.Training.Steps ||
				a.Training.BestEpoch != b.Training.BestEpoch || a.Training.BestValLoss != b.Training.BestValLoss {
				t.Errorf("%s: resumed run ends at epoch %d step %d best %d (%v); uninterrupted %d %d %d (%v)", suffix,
					b.Training.Epochs, b.Training.Steps, b.Training.BestEpoch, b.Training.BestValLoss,
					a.Training.Epochs, a.Training.Steps, a.Training.BestEpoch, a.Training.BestValLoss)
			}
			for i := range a.Params {
				if a.Params[i] != b.Params[i] {
					t.Fatalf("%s: parameter %d: resumed %g, uninterrupted %g", suffix, i, b.Params[i], a.Params[i])
				}
			}
			if (a.Optim == nil) != (b.Optim == nil) {
				t.Fatalf("%s: optimizer state in one file only", suffix)
			}
			if a.Optim != nil {
				for i := range a.Optim.ExpAvg {
					if a.Optim.ExpAvg[i] != b.Optim.ExpAvg[i] || a.Optim.ExpAvgSq[i] != b.Optim.ExpAvgSq[i] {
						t.Fatalf("%s: AdamW state %d differs", suffix, i)
					}
				}
			}
		}
	})
}

func mustRun(t *testing.T, bin string, args ...string) {
	t.Helper()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("m4 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// killWhen starts m4 with args and sends SIGKILL as soon as ready() holds;
// it fails if the process ends first.
func killWhen(t *testing.T, bin string, args []string, ready func() bool) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("m4 %s ended before it could be killed (%v):\n%s", args[0], err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("m4 %s: never ready to be killed", args[0])
		case <-time.After(2 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	if ee, ok := err.(*exec.ExitError); !ok || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("m4 %s was not killed: %v\n%s", args[0], err, out.String())
	}
}

// shardDirs lists the scenario folders under their final names.
func shardDirs(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "shard") {
			names = append(names, e.Name())
		}
	}
	return names
}

// wallRe matches the wall-clock line of pdrop_*.txt, the one thing a rerun
// changes.
var wallRe = regexp.MustCompile(`(?m)^wall .*$`)

// sameTree fails unless the folders hold the same files with the same bytes
// (wall-clock lines aside), hidden temporaries excluded.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(root, p)
				m[rel] = wallRe.ReplaceAll(b, nil)
			}
			return nil
		})
		return m
	}
	w, g := files(want), files(got)
	if len(w) != len(g) {
		t.Errorf("%s has %d files, %s %d", got, len(g), want, len(w))
	}
	for name, b := range w {
		if gb, ok := g[name]; !ok {
			t.Errorf("%s: missing %s", got, name)
		} else if !bytes.Equal(b, gb) {
			t.Errorf("%s: %s differs from the uninterrupted run's", got, name)
		}
	}
}

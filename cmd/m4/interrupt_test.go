package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m4sim/m4/pipeline/model"
)

// TestInterruptLeavesNoTemp sends SIGINT to `m4 train` and `m4 workload`
// (built with go build, run as subprocesses) while they are writing, at the
// moment a temporary file or folder is on disk: each stops with exit
// status 130 and leaves no temporary file; train's checkpoints are whole.
func TestInterruptLeavesNoTemp(t *testing.T) {
	bin := m4Binary(t, "(about 20 s)")
	dir := t.TempDir()

	t.Run("train", func(t *testing.T) {
		spec := filepath.Join(dir, "spec.yaml")
		if err := os.WriteFile(spec, []byte("seed: 5\nshards: {count: 4}\nflows_per_pair: 60\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(dir, "data")
		mustRun(t, bin, "datagen", "--spec", spec, "--out", data, "--no-progress", "--workers", "1")
		out := filepath.Join(dir, "ck")
		os.Mkdir(out, 0o755)
		ck := filepath.Join(out, "model.safetensors")
		// m4's default model: 26 MB a resume checkpoint, written every epoch
		msg := interruptWhen(t, bin, []string{"train", "--data", data, "--out", ck, "--epochs", "1000", "--patience", "0",
			"--resamples", "0", "--threads", "1"}, func() bool { return len(temps(t, out)) > 0 })
		if left := temps(t, out); len(left) > 0 {
			t.Errorf("interrupted train left %v\n%s", left, msg)
		}
		if !strings.Contains(msg, "interrupt") {
			t.Errorf("train did not say it was interrupted:\n%s", msg)
		}
		for _, p := range []string{ck, ck + ".resume"} {
			if _, err := os.Stat(p); err != nil {
				continue // interrupted before the first epoch was saved
			}
			if _, err := model.Load(p); err != nil {
				t.Errorf("after the interrupt: %v", err)
			}
		}
	})

	t.Run("workload", func(t *testing.T) {
		spec := filepath.Join(dir, "wl.yaml")
		if err := os.WriteFile(spec, []byte("sizes: {dist: webserver}\nmax_load: 0.5\nflows: 3000000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "wl")
		msg := interruptWhen(t, bin, []string{"workload", "--spec", spec, "--out", out}, func() bool { return len(temps(t, dir)) > 0 })
		if left := temps(t, dir); len(left) > 0 {
			t.Errorf("interrupted workload left %v\n%s", left, msg)
		}
	})
}

// temps lists the temporary files and folders (".NAME.tmp-*") in dir.
func temps(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// interruptWhen starts m4 with args, sends SIGINT as soon as ready() holds,
// and returns its output; the process must end with status 130.
func interruptWhen(t *testing.T, bin string, args []string, ready func() bool) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(120 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("m4 %s ended before it could be interrupted (%v):\n%s", args[0], err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("m4 %s: never ready to be interrupted", args[0])
		default:
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("m4 %s after SIGINT: %v, want exit status 130\n%s", args[0], err, out.String())
	}
	return out.String()
}

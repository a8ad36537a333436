package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestCleanupRemovesInFlight: Cleanup removes the temporary file of a write
// in flight and the temporary folders of TempDir, and nothing else: files
// already written stay whole.
func TestCleanupRemovesInFlight(t *testing.T) {
	dir := t.TempDir()
	if err := WriteBytes(filepath.Join(dir, "done.txt"), []byte("whole")); err != nil {
		t.Fatal(err)
	}
	tmpDir, err := TempDir(dir, ".out.tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmpDir, "part"), []byte("x"), 0o644)
	inside, resume := make(chan struct{}), make(chan struct{})
	errc := make(chan error)
	go func() {
		errc <- Write(filepath.Join(dir, "big.bin"), func(w io.Writer) error {
			w.Write(make([]byte, 3<<20)) // past the buffer: on disk
			close(inside)
			<-resume
			return nil
		})
	}()
	<-inside
	if n := Cleanup(); n != 2 {
		t.Errorf("Cleanup removed %d paths, want 2 (the write's temporary file and the folder)", n)
	}
	close(resume)
	if err := <-errc; err == nil {
		t.Error("the write whose temporary file was removed succeeded")
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 || es[0].Name() != "done.txt" {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("left %v, want only done.txt", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "done.txt")); string(b) != "whole" {
		t.Errorf("done.txt = %q", b)
	}
	if n := Cleanup(); n != 0 {
		t.Errorf("a second Cleanup removed %d", n)
	}
}

// TestCleanupWhileWriting: a command still writing files into its temporary
// folder (the signal handler does not wait for it) cannot keep the folder
// alive: after Cleanup nothing is left, and the writer's next file fails.
func TestCleanupWhileWriting(t *testing.T) {
	for round := range 20 {
		dir := t.TempDir()
		tmp, err := TempDir(dir, ".out.tmp-*")
		if err != nil {
			t.Fatal(err)
		}
		started, stopped := make(chan struct{}), make(chan int)
		go func() {
			i := 0
			for ; i < 100000; i++ {
				if i == 10 {
					close(started)
				}
				if os.WriteFile(filepath.Join(tmp, fmt.Sprint("f", i)), []byte("x"), 0o644) != nil {
					break
				}
			}
			stopped <- i
		}()
		<-started
		if n := Cleanup(); n != 1 {
			t.Errorf("round %d: Cleanup removed %d paths, want 1", round, n)
		}
		if i := <-stopped; i == 100000 {
			t.Errorf("round %d: the writer never failed", round)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Fatalf("round %d: left %d entries (%s)", round, len(es), es[0].Name())
		}
	}
}

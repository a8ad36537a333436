// Package atomicfile writes files so that readers, and runs killed half-way,
// never see a partial file: data goes to a temporary file in the same
// directory, is synced, and is renamed over the destination only when
// complete. Dir does the same for a folder of files that belong together.
// The temporary files and folders being written are tracked, so
// that a command interrupted by a signal removes them (Cleanup) and leaves
// nothing behind.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// inFlight holds the temporary files and folders being written now. It is
// process-wide, as the signals that call for Cleanup are.
var inFlight struct {
	sync.Mutex
	paths map[string]bool
}

func track(path string) {
	inFlight.Lock()
	defer inFlight.Unlock()
	if inFlight.paths == nil {
		inFlight.paths = map[string]bool{}
	}
	inFlight.paths[path] = true
}

// Done stops tracking a temporary folder of TempDir: it was renamed into
// place or removed.
func Done(path string) {
	inFlight.Lock()
	defer inFlight.Unlock()
	delete(inFlight.paths, path)
}

// Cleanup removes every temporary file and folder being written: m4 calls
// it when a signal stops a command, so that an interrupted command leaves no
// temporary file behind. Files already renamed into place are whole and
// stay. It returns how many it removed.
func Cleanup() int {
	inFlight.Lock()
	defer inFlight.Unlock()
	n := 0
	for p := range inFlight.paths {
		if remove(p) == nil {
			n++
		}
		delete(inFlight.paths, p)
	}
	return n
}

// remove deletes a temporary file or folder that the command may still be
// writing into: the folder is first renamed aside, so that files the writer
// creates by path from then on fail instead of landing in a folder being
// removed (os.RemoveAll of a folder that gains a file meanwhile fails).
func remove(p string) error {
	aside := p + ".cleanup"
	if os.Rename(p, aside) == nil {
		p = aside
	}
	var err error
	for range 5 {
		if err = os.RemoveAll(p); err == nil {
			return nil
		}
	}
	return err
}

// TempDir creates a temporary folder in dir as os.MkdirTemp does, tracked
// for Cleanup until Done is called with it.
func TempDir(dir, pattern string) (string, error) {
	p, err := os.MkdirTemp(dir, pattern)
	if err == nil {
		track(p)
	}
	return p, err
}

// Write creates path atomically with the bytes fill writes. If fill or any
// step fails, path is left as it was and the temporary file is removed.
func Write(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	track(tmp.Name())
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		Done(tmp.Name())
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// WriteBytes writes data to path atomically.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

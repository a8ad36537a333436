package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Dir is a folder whose contents are replaced as one unit: a command writes
// its files into a temporary folder beside it, and Commit swaps that folder
// into place. A reader, a killed run or a second run with the same folder
// sees the previous set of files or the new one, never a mix.
type Dir struct {
	final string
	tmp   string
	names []string

	noExchange bool // tests: take the path of systems without exchange
}

// NewDir prepares to replace dir with a set of files named from names (the
// only names a complete set may hold). dir must not exist, or be a folder
// that holds nothing but such files (an earlier set, or nothing), so that a
// folder of other files is never replaced.
func NewDir(dir string, names ...string) (*Dir, error) {
	dir = filepath.Clean(dir)
	if err := checkReplaceable(dir, names); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	tmp, err := TempDir(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		Done(tmp)
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Dir{final: dir, tmp: tmp, names: slices.Clone(names)}, nil
}

// checkReplaceable fails unless dir is absent or a folder of names only.
func checkReplaceable(dir string, names []string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", dir)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another run moved it aside in between
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !slices.Contains(names, e.Name()) {
			return fmt.Errorf("%s holds %s, which this command does not write; it replaces its output folder as a whole, so give a new or empty folder (or one it wrote before)",
				dir, e.Name())
		}
	}
	return nil
}

// Final returns the folder the set replaces.
func (d *Dir) Final() string { return d.final }

// Path returns where to write file name of the set (in the temporary
// folder until Commit). name must be one of the names given to NewDir.
func (d *Dir) Path(name string) string {
	if !slices.Contains(d.names, name) {
		panic(fmt.Sprintf("atomicfile: %s is not a file of the set for %s", name, d.final))
	}
	return filepath.Join(d.tmp, name)
}

// Commit puts the written set in place of the folder. Where the system can
// exchange two names in one step (Linux), the folder always holds a whole
// set; elsewhere the old set is moved aside first, so for a moment there is
// none. The previous set is then removed.
func (d *Dir) Commit() error {
	if d.tmp == "" {
		return fmt.Errorf("%s: already committed or aborted", d.final)
	}
	for range 100 {
		err := errNoExchange
		if !d.noExchange {
			err = exchange(d.tmp, d.final)
		}
		if err == nil {
			Done(d.tmp)
			d.removeOld(d.tmp) // d.tmp now holds the previous set
			d.tmp = ""
			syncDir(filepath.Dir(d.final))
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNoExchange) {
			return fmt.Errorf("%s: %w", d.final, err)
		}
		// no folder yet (or no exchange): move any old set aside, then rename
		old := ""
		if _, err := os.Stat(d.final); err == nil {
			o, err := os.MkdirTemp(filepath.Dir(d.final), "."+filepath.Base(d.final)+".old-*")
			if err != nil {
				return fmt.Errorf("%s: %w", d.final, err)
			}
			os.Remove(o)
			if err := os.Rename(d.final, o); err == nil {
				old = o
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: %w", d.final, err)
			}
		}
		err = os.Rename(d.tmp, d.final)
		if old != "" {
			d.removeOld(old)
		}
		if err == nil {
			Done(d.tmp)
			d.tmp = ""
			syncDir(filepath.Dir(d.final))
			return nil
		}
		// another run put its set there in between (and may have moved
		// it again since): try again while our set is still whole
		if _, serr := os.Stat(d.tmp); serr != nil {
			return fmt.Errorf("%s: %w", d.final, err)
		}
	}
	return fmt.Errorf("%s: other runs kept replacing the folder; gave up", d.final)
}

// Abort removes the temporary folder; after Commit it does nothing.
func (d *Dir) Abort() {
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
		Done(d.tmp)
		d.tmp = ""
	}
}

// removeOld deletes a previous set: its files of the set's names and, if
// nothing else is in it, the folder.
func (d *Dir) removeOld(dir string) {
	for _, n := range d.names {
		os.Remove(filepath.Join(dir, n))
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		// a killed atomicfile.Write's temporary file
		if name := e.Name(); !e.IsDir() && len(name) > 0 && name[0] == '.' {
			os.Remove(filepath.Join(dir, name))
		}
	}
	os.Remove(dir)
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}

// errNoExchange: the system cannot swap two names in one step.
var errNoExchange = errors.New("atomic exchange of two folders is not supported here")

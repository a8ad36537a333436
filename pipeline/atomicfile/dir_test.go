package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var setNames = []string{"a.txt", "b.txt", "c.txt"}

// writeSet writes files (name -> content) into a new set for dir and commits it.
func writeSet(t *testing.T, dir string, files map[string]string, noExchange bool) error {
	t.Helper()
	d, err := NewDir(dir, setNames...)
	if err != nil {
		return err
	}
	defer d.Abort()
	d.noExchange = noExchange
	for name, content := range files {
		if err := WriteBytes(d.Path(name), []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return d.Commit()
}

// contents reads every file of dir (nil if dir is absent).
func contents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

// noLeftovers fails if a temporary or old folder is left beside dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".*"))
	if len(left) > 0 {
		t.Errorf("left beside %s: %v", dir, left)
	}
}

func TestDirReplacesTheWholeSet(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		t.Run(fmt.Sprintf("noExchange=%v", noExchange), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			first := map[string]string{"a.txt": "1a", "b.txt": "1b"}
			if err := writeSet(t, dir, first, noExchange); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, dir); fmt.Sprint(got) != fmt.Sprint(first) {
				t.Fatalf("first set: %v", got)
			}
			// the second set has no b.txt: the first's must not stay beside it
			second := map[string]string{"a.txt": "2a", "c.txt": "2c"}
			if err := writeSet(t, dir, second, noExchange); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, dir); fmt.Sprint(got) != fmt.Sprint(second) {
				t.Fatalf("second set: %v, want %v", got, second)
			}
			noLeftovers(t, dir)
			// an aborted set leaves the folder as it was
			d, err := NewDir(dir, setNames...)
			if err != nil {
				t.Fatal(err)
			}
			WriteBytes(d.Path("a.txt"), []byte("3a"))
			d.Abort()
			if got := contents(t, dir); fmt.Sprint(got) != fmt.Sprint(second) {
				t.Fatalf("after an abort: %v", got)
			}
			noLeftovers(t, dir)
			if err := d.Commit(); err == nil {
				t.Error("Commit after Abort succeeded")
			}
		})
	}
}

// A folder whose parents do not exist yet gets them, as mkdir -p would.
func TestDirMakesParents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs", "a", "out")
	set := map[string]string{"a.txt": "x"}
	if err := writeSet(t, dir, set, false); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, dir); fmt.Sprint(got) != fmt.Sprint(set) {
		t.Fatalf("got %v", got)
	}
}

func TestDirRefusesOtherFolders(t *testing.T) {
	root := t.TempDir()
	mine := filepath.Join(root, "mine")
	os.Mkdir(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "a.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(mine, "notes.md"), []byte("keep me"), 0o644)
	file := filepath.Join(root, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	sub := filepath.Join(root, "sub")
	os.MkdirAll(filepath.Join(sub, "a.txt"), 0o755)
	for _, c := range []struct{ dir, want string }{
		{mine, "holds notes.md"},
		{file, "not a folder"},
		{sub, "holds a.txt"},
	} {
		_, err := NewDir(c.dir, setNames...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.dir) {
			t.Errorf("%s: %v, want an error naming it and saying %q", c.dir, err, c.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(mine, "notes.md")); string(b) != "keep me" {
		t.Error("a refused folder was changed")
	}
	// an empty folder is fine
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	if err := writeSet(t, empty, map[string]string{"c.txt": "c"}, false); err != nil {
		t.Fatal(err)
	}
}

// Runs committing to one folder at once leave one whole set, never a mix.
func TestDirConcurrentCommits(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "out")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				set := map[string]string{}
				for _, n := range setNames[:1+i%3] {
					set[n] = fmt.Sprint(i)
				}
				errs[i] = writeSet(t, dir, set, noExchange)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("noExchange %v: run %d: %v", noExchange, i, err)
			}
		}
		got := contents(t, dir)
		var ids []string
		for _, v := range got {
			ids = append(ids, v)
		}
		slices.Sort(ids)
		if len(ids) == 0 || ids[0] != ids[len(ids)-1] {
			t.Fatalf("noExchange %v: mixed set %v", noExchange, got)
		}
		var i int
		fmt.Sscan(ids[0], &i)
		if len(got) != 1+i%3 {
			t.Errorf("noExchange %v: run %d's set has %d files, want %d: %v", noExchange, i, len(got), 1+i%3, got)
		}
		noLeftovers(t, dir)
	}
}

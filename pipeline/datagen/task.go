package datagen

import (
	"fmt"
	"strconv"
	"strings"
)

// Task is this process's part of a data set split over Count tasks (a
// cluster's array job): of the scenarios in index order, cut into Count
// contiguous blocks of equal size (within one), it makes block Index. Since
// the path length varies fastest in index order, every block holds the same
// mix of path lengths, and so about the same work.
type Task struct {
	Index, Count int
	Source       string // where the split came from, for messages
}

// Whole is the whole data set in one task.
func Whole() Task { return Task{Index: 0, Count: 1, Source: "default"} }

// ParseTask parses "i/N" (0 <= i < N).
func ParseTask(s string) (Task, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Task{}, fmt.Errorf("--shard %q: want i/N, e.g. 3/16", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Task{}, fmt.Errorf("--shard %q: i and N must be integers", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Task{}, fmt.Errorf("--shard %q: want 0 <= i < N", s)
	}
	return Task{Index: i, Count: n, Source: "--shard"}, nil
}

// TaskFromEnv finds the split in a cluster scheduler's environment (getenv
// is os.Getenv in the command):
//
//   - Slurm job arrays: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (0 when
//     unset) of SLURM_ARRAY_TASK_COUNT.
//   - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX of count (the Job's
//     completions, which Kubernetes does not export: pass it with
//     --shard-count or M4_SHARD_COUNT).
//
// It returns Whole() when neither is set.
func TaskFromEnv(getenv func(string) string, count int) (Task, error) {
	if id := getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		n, err := envInt(getenv, "SLURM_ARRAY_TASK_COUNT", -1)
		if err != nil {
			return Task{}, err
		}
		if n < 0 {
			return Task{}, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
		}
		i, err := envInt(getenv, "SLURM_ARRAY_TASK_ID", 0)
		if err != nil {
			return Task{}, err
		}
		lo, err := envInt(getenv, "SLURM_ARRAY_TASK_MIN", 0)
		if err != nil {
			return Task{}, err
		}
		t := Task{Index: i - lo, Count: n, Source: "Slurm (SLURM_ARRAY_TASK_ID, _MIN, _COUNT)"}
		if t.Index < 0 || t.Index >= t.Count {
			return Task{}, fmt.Errorf("Slurm array task %d (min %d) is not one of %d tasks: use a contiguous --array range", i, lo, n)
		}
		return t, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		i, err := envInt(getenv, "JOB_COMPLETION_INDEX", 0)
		if err != nil {
			return Task{}, err
		}
		if count <= 0 {
			if count, err = envInt(getenv, "M4_SHARD_COUNT", 0); err != nil {
				return Task{}, err
			}
		}
		if count <= 0 {
			return Task{}, fmt.Errorf("JOB_COMPLETION_INDEX is set: give the Job's completions with --shard-count or M4_SHARD_COUNT")
		}
		if i < 0 || i >= count {
			return Task{}, fmt.Errorf("JOB_COMPLETION_INDEX %d is not one of %d tasks", i, count)
		}
		return Task{Index: i, Count: count, Source: "Kubernetes (JOB_COMPLETION_INDEX)"}, nil
	}
	return Whole(), nil
}

func envInt(getenv func(string) string, name string, def int) (int, error) {
	s := getenv(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not an integer", name, s)
	}
	return v, nil
}

// Owns reports whether scenario index i of total belongs to the task.
func (t Task) Owns(i, total int) bool { return i*t.Count/total == t.Index }

func (t Task) String() string { return fmt.Sprintf("%d/%d", t.Index, t.Count) }

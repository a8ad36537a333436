package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m4sim/m4/pipeline/dataset"
	"github.com/m4sim/m4/pipeline/features"
	"github.com/m4sim/m4/pipeline/model"
)

// TestDatagenFromWorkloadAndTrainOnly: m4 datagen --from-workload writes
// simulated workloads, and m4 train --train-only trains on paths cut from
// them (with the quantile loss) while validating on the --data split alone.
func TestDatagenFromWorkloadAndTrainOnly(t *testing.T) {
	data := filepath.Join(reference(t), "m3-shards")
	dir := t.TempDir()
	spec := filepath.Join(dir, "family.yaml")
	os.WriteFile(spec, []byte(`seed: 2
workloads: {count: 2}
topologies: [{kind: fabric, pods: 2, fabs_per_pod: 2, racks_per_pod: 16, hosts_per_rack: 2}]
flows: [300, 400]
matrices: [uniform]
`), 0o644)
	out := filepath.Join(dir, "paths")
	msg, err := run(t, "datagen", "--from-workload", "--spec", spec, "--out", out, "--no-progress", "--workers", "2")
	if err != nil || !strings.Contains(msg, "2 made") {
		t.Fatalf("%q %v", msg, err)
	}
	wls, _ := filepath.Glob(filepath.Join(out, "wl*", "truth.npz"))
	if len(wls) != 2 {
		t.Fatalf("%d workload folders with truth", len(wls))
	}
	paths, err := dataset.LoadWorkloads(dataset.WorkloadOptions{Paths: 12, Seed: 1}, out)
	if err != nil || len(paths) < 8 {
		t.Fatalf("%d paths cut from the workloads: %v", len(paths), err)
	}
	if msg, err = run(t, "datagen", "--from-workload", "--spec", spec, "--out", out, "--no-progress"); err != nil || !strings.Contains(msg, "0 made (0 unusable") || !strings.Contains(msg, "2 finished before") {
		t.Errorf("rerun: %q %v", msg, err)
	}
	if msg, err = run(t, "datagen", "--from-workload", "--example-spec"); err != nil || !strings.Contains(msg, "matrices:") {
		t.Errorf("--example-spec: %q %v", msg, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("matrices: [cluster_q]\n"), 0o644)
	if _, err := run(t, "datagen", "--from-workload", "--spec", bad, "--out", out); err == nil || !strings.Contains(err.Error(), "matrices[0]") {
		t.Errorf("bad family: %v", err)
	}
	ck := filepath.Join(dir, "m.safetensors")
	msg, err = run(t, "train", "--data", data, "--train-only", out, "--paths-per-workload", "12", "--out", ck, "--epochs", "1", "--dim", "32", "--layers", "1",
		"--heads", "2", "--hidden", "48", "--mlp-hidden", "400", "--batch", "10", "--resamples", "1", "--threads", "1", "--val-frac", "0.2")
	if err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	want := "(" + itoa(24+len(paths)) + " train, 6 validation"
	if !strings.Contains(msg, want) {
		t.Errorf("train output lacks %q:\n%s", want, msg)
	}
	c, err := model.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	// 24 m3 shards resampled once (but the two with fewer than 10
	// foreground flows, if they train); the workload paths (a flow or a few
	// each) not
	if tr := c.Training; tr.TrainScenarios < 46+len(paths) || tr.TrainScenarios > 48+len(paths) || tr.QuantileBelow != 10 || len(tr.TrainOnlyData) != 1 {
		t.Errorf("training record (%d paths): %d scenarios, quantile below %d, train-only %v", len(paths), tr.TrainScenarios, tr.QuantileBelow, tr.TrainOnlyData)
	}
	if c.Features.Name != features.V2 {
		t.Errorf("trained on %q features, want %s by default", c.Features.Name, features.V2)
	}
	// a fine-tuning run moves the v2 checkpoint to v3 (its new column
	// standardised on the training rows), a v3 one stays v3, and no other
	// move is allowed
	tune := []string{"train", "--data", data, "--train-only", out, "--paths-per-workload", "12", "--epochs", "1", "--batch", "10",
		"--threads", "1", "--val-frac", "0.2", "--lr", "1e-4"}
	ck3 := filepath.Join(dir, "v3.safetensors")
	if msg, err = run(t, append(tune, "--init", ck, "--features", features.V3, "--out", ck3)...); err != nil {
		t.Fatalf("--init v2 --features v3: %v\n%s", err, msg)
	}
	c3, err := model.Load(ck3)
	if err != nil {
		t.Fatal(err)
	}
	col := features.CellsPerRow + features.ForegroundParam
	if c3.Features.Name != features.V3 || c3.Training.FineTunedFrom != ck || c3.InputNorm == nil ||
		c3.InputNorm.Shift[col] == c.InputNorm.Shift[col] || c3.InputNorm.Shift[col] <= 0 {
		t.Errorf("upgraded: features %q from %q, foreground column shift %v (v2's 1-pfc column %v)",
			c3.Features.Name, c3.Training.FineTunedFrom, c3.InputNorm.Shift[col], c.InputNorm.Shift[col])
	}
	ck4 := filepath.Join(dir, "v3b.safetensors")
	if msg, err = run(t, append(tune, "--init", ck3, "--out", ck4)...); err != nil {
		t.Fatalf("--init v3: %v\n%s", err, msg)
	}
	if c4, err := model.Load(ck4); err != nil || c4.Features.Name != features.V3 {
		t.Errorf("fine-tuned from v3 without --features: %v %v", c4.Features.Name, err)
	}
	if _, err = run(t, append(tune, "--init", ck3, "--features", features.V2, "--out", ck4)...); err == nil || !strings.Contains(err.Error(), "reads m4-path-v3 features") {
		t.Errorf("--init v3 --features v2: %v", err)
	}
	if _, err = run(t, append(tune, "--init", ck, "--features", "m4-path-v9", "--out", ck4)...); err == nil || !strings.Contains(err.Error(), "--features") {
		t.Errorf("--features m4-path-v9: %v", err)
	}
	shard := filepath.Join(data, "shard0_nflows100_nhosts3_lr10Gbps")
	if msg, err = run(t, "predict", "--shard", shard, "--ckpt", ck3, "--out", filepath.Join(dir, "p.npy"), "--threads", "1"); err != nil {
		t.Errorf("predict with a v3 checkpoint: %v\n%s", err, msg)
	}
	// every cut path with the quantile loss, weighted by flows^0.5: recorded,
	// and a resume with another weight refused
	ck2 := filepath.Join(dir, "w.safetensors")
	small := []string{"train", "--data", data, "--train-only", out, "--paths-per-workload", "12", "--out", ck2, "--dim", "32", "--layers", "1",
		"--heads", "2", "--hidden", "48", "--mlp-hidden", "400", "--batch", "10", "--threads", "1", "--val-frac", "0.2", "--quantile-network"}
	if msg, err = run(t, append(small, "--epochs", "1", "--flow-weight", "0.5")...); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	if c, err = model.Load(ck2); err != nil {
		t.Fatal(err)
	}
	if tr := c.Training; !tr.QuantileNetwork || tr.FlowWeight != 0.5 {
		t.Errorf("training record: quantile network %v, flow weight %g", tr.QuantileNetwork, tr.FlowWeight)
	}
	if _, err = run(t, append(small, "--epochs", "2", "--flow-weight", "0.25", "--resume")...); err == nil || !strings.Contains(err.Error(), "flow weight power 0.5") {
		t.Errorf("resume with another flow weight: %v", err)
	}
	if _, err = run(t, append(small, "--epochs", "1", "--flow-weight", "3")...); err == nil || !strings.Contains(err.Error(), "flow-weight") {
		t.Errorf("--flow-weight 3: %v", err)
	}
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0 || len(b) == 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

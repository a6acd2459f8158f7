package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// VersionsFile records the Kubernetes version of the cluster and of each
// node's kubelet as kprov last saw them, so that plan can show an upgrade
// without reaching the cluster.
const VersionsFile = "versions.json"

// Versions is VersionsFile's content.
type Versions struct {
	// Cluster is kubeadm-config's kubernetesVersion.
	Cluster string `json:"cluster,omitempty"`
	// Nodes is each node's kubelet version.
	Nodes map[string]string `json:"nodes,omitempty"`
}

// ReadVersions reads dir's VersionsFile; a missing one is empty.
func ReadVersions(dir string) (Versions, error) {
	var v Versions
	data, err := os.ReadFile(filepath.Join(dir, VersionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%s: %w (remove it: the next up writes it again)", filepath.Join(dir, VersionsFile), err)
	}
	return v, nil
}

// WriteVersions writes v as dir's VersionsFile, atomically.
func WriteVersions(dir string, v Versions) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeSecret(filepath.Join(dir, VersionsFile), append(data, '\n'))
}

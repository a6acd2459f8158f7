package judge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// auditPolicy has the judge record the body of every write (create,
// update, patch) at level Request: what a client really sent.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Request
  verbs: ["create", "update", "patch"]
- level: None
`

// auditArgs writes the policy into dir and returns the flags that make
// kube-apiserver log to dir/audit.log, one JSON event a line.
func auditArgs(dir string) ([]string, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, err
	}
	return []string{
		"--audit-policy-file=" + policy,
		"--audit-log-path=" + filepath.Join(dir, "audit.log"),
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
	}, nil
}

// Write is one write the API server received, from its audit log.
type Write struct {
	Verb       string
	RequestURI string
	// Resource, Namespace and Name are the object written.
	Resource, Namespace, Name string
	// Body is the request body as the server logged it (JSON).
	Body json.RawMessage
}

// Writes reads every write the server has logged so far, in order.
func (a *APIServer) Writes() ([]Write, error) {
	f, err := os.Open(filepath.Join(a.dir, "audit.log"))
	if err != nil {
		return nil, fmt.Errorf("the judge's audit log: %w", err)
	}
	defer f.Close()
	var out []Write
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Verb       string `json:"verb"`
			RequestURI string `json:"requestURI"`
			ObjectRef  struct {
				Resource, Namespace, Name string
			} `json:"objectRef"`
			RequestObject json.RawMessage `json:"requestObject"`
		}
		if err := json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &ev); err != nil {
			return nil, fmt.Errorf("the judge's audit log: %w", err)
		}
		out = append(out, Write{Verb: ev.Verb, RequestURI: ev.RequestURI, Resource: ev.ObjectRef.Resource,
			Namespace: ev.ObjectRef.Namespace, Name: ev.ObjectRef.Name, Body: ev.RequestObject})
	}
	return out, sc.Err()
}

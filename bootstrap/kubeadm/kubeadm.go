// Package kubeadm builds kubeadm configuration files from a cluster spec, its
// planned nodes and its secrets, with the upstream kubeadm API types. All
// functions are pure: no I/O, and the same input gives the same bytes.
package kubeadm

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// Input is everything a kubeadm configuration is built from.
type Input struct {
	Cluster *spec.Cluster // normalized (spec.Normalize)
	Nodes   []plan.Node
	Secrets *secrets.Secrets
}

// Fixed values of every kprov cluster.
const (
	CRISocket = "unix:///run/containerd/containerd.sock"
	APIPort   = 6443
	// TokenTTL is how long the bootstrap token lives after kubeadm init;
	// joining later needs the token re-created (kubeadm token create).
	TokenTTL = 24 * time.Hour
)

// kubeadm API versions.
const (
	V1beta2 = "kubeadm.k8s.io/v1beta2"
	V1beta3 = "kubeadm.k8s.io/v1beta3"
	V1beta4 = "kubeadm.k8s.io/v1beta4"
)

// APIVersion is the kubeadm config API version kprov writes for a Kubernetes
// release: v1beta2 up to 1.21, v1beta3 for 1.22-1.30, v1beta4 from 1.31
// (the gates are spec.KubeadmV1beta3 and spec.KubeadmV1beta4).
func APIVersion(v spec.Version) (string, error) {
	switch {
	case !v.Valid():
		return "", fmt.Errorf("kubernetes version %q: %w", v, v.Err())
	case v.Major() != 1 || v.Before(spec.MinKubernetes):
		return "", fmt.Errorf("kubernetes version %q is not supported: kprov needs 1.21 or newer", v)
	case v.Before(spec.KubeadmV1beta3):
		return V1beta2, nil
	case v.Before(spec.KubeadmV1beta4):
		return V1beta3, nil
	}
	return V1beta4, nil
}

// CACertHash is the public key pin of a CA certificate as kubeadm writes it
// in discovery-token-ca-cert-hash: "sha256:" and the hex SHA-256 of the
// certificate's DER SubjectPublicKeyInfo.
func CACertHash(caPEM []byte) (string, error) {
	b, _ := pem.Decode(caPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", errors.New("CA certificate: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("CA certificate: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Endpoint is the control plane endpoint (host:port) every node talks to:
// the virtual address the control planes hold (Cluster.APIVIP), or
// network.api_endpoint, with port 6443 when it has none, or else the first
// control-plane node's address.
func Endpoint(in Input) (string, error) {
	if vip, ok := in.Cluster.APIVIP(); ok {
		return net.JoinHostPort(vip.String(), fmt.Sprint(APIPort)), nil
	}
	if e := in.Cluster.Network.APIEndpoint; e != "" {
		if _, _, err := net.SplitHostPort(e); err == nil {
			return e, nil
		}
		return net.JoinHostPort(e, fmt.Sprint(APIPort)), nil
	}
	cp, ok := plan.FirstControlPlane(in.Nodes)
	if !ok {
		return "", errors.New("no control-plane node in the plan")
	}
	return net.JoinHostPort(cp.IP.String(), fmt.Sprint(APIPort)), nil
}

package spec

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
)

// Kubernetes releases where what kprov builds changes. Each is a generic
// version, compared by numbers only (see Version.AtLeast).
var (
	// MinKubernetes and MaxKubernetes bound the releases kprov builds.
	MinKubernetes = version.MustParseGeneric("1.21.0")
	MaxKubernetes = version.MustParseGeneric("1.37.99")
	// KubeadmV1beta3 and KubeadmV1beta4 are the first releases whose kubeadm
	// configuration kprov writes as v1beta3 (it brought patches) and
	// v1beta4; before 1.22 it is v1beta2.
	KubeadmV1beta3 = version.MustParseGeneric("1.22.0")
	KubeadmV1beta4 = version.MustParseGeneric("1.31.0")
	// NFTablesKubeProxy is the first release whose kube-proxy runs the
	// nftables mode without a feature gate (beta).
	NFTablesKubeProxy = version.MustParseGeneric("1.31.0")
	// v1beta1CRDsRemoved is the first release without
	// apiextensions.k8s.io/v1beta1, which Calico before v3.14 needs.
	v1beta1CRDsRemoved = version.MustParseGeneric("1.22.0")
	// ipvsDeprecated is the release that deprecated kube-proxy's IPVS mode.
	ipvsDeprecated = version.MustParseGeneric("1.35.0")
	// traefikMinKubernetes is the oldest Kubernetes Traefik v3 runs on: it
	// dropped the Ingress and CRD v1beta1 APIs 1.22 removed, and its Helm
	// chart declares kubeVersion >=1.22.0-0.
	traefikMinKubernetes = version.MustParseGeneric("1.22.0")
	// metalLBv015 is the first release kprov installs MetalLB v0.15.2 on;
	// before it, v0.13.5 (the v3.11 stack's).
	metalLBv015 = version.MustParseGeneric("1.22.0")
)

// patchTargets are what kubeadm patches, with the first Kubernetes whose
// kubeadm knows each (its "patches" field came with v1beta3, in 1.22).
var patchTargets = map[string]*version.Version{
	"etcd":                    KubeadmV1beta3,
	"kube-apiserver":          KubeadmV1beta3,
	"kube-controller-manager": KubeadmV1beta3,
	"kube-scheduler":          KubeadmV1beta3,
	"kubeletconfiguration":    version.MustParseGeneric("1.25.0"),
	"corednsdeployment":       version.MustParseGeneric("1.31.0"),
}

// Supported reports whether kprov builds release v: 1.21 to 1.37.
func (v Version) Supported() bool {
	return v.Valid() && !v.Before(MinKubernetes) && !v.v.GreaterThan(MaxKubernetes)
}

// DefaultCrictlVersion is the cri-tools release made for a Kubernetes
// release: cri-tools follows Kubernetes minors, so v1.21.14 gives v1.21.0.
// It is empty when v is not Valid (validation says why).
func DefaultCrictlVersion(v Version) string {
	if !v.Valid() {
		return ""
	}
	return fmt.Sprintf("v%d.%d.0", v.Major(), v.Minor())
}

package spec

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

func (v *validator) versions() {
	c := v.c
	at := v.at(c.Body, "kubernetes_version")
	kv := c.Kubernetes()
	if !kv.Valid() {
		written := strings.TrimPrefix(c.KubernetesVersion, "v")
		if v.isNumber(c.Body, "kubernetes_version") {
			v.errorf(at, "Invalid kubernetes_version", "kubernetes_version = %s is a number, which cannot name a release: quote an exact release, such as kubernetes_version = \"1.21.14\".", written)
			return
		}
		if written == "" || written[0] < '0' || written[0] > '9' {
			written = c.KubernetesVersion
		}
		v.errorf(at, "Invalid kubernetes_version", "%q is not an exact release such as \"1.21.14\". kprov pins exact versions so builds are reproducible.", written)
		return
	}
	if !kv.Supported() {
		v.errorf(at, "Unsupported kubernetes_version", "kprov builds Kubernetes 1.21 to 1.37; %s is outside that range.", c.KubernetesVersion)
		return
	}
	cv, err := version.ParseSemantic(strings.TrimPrefix(c.Calico.Version, "v"))
	if err != nil {
		v.errorf(v.at(c.Calico.Body, "version"), "Invalid Calico version", "%q is not an exact Calico release such as \"v3.11.3\".", c.Calico.Version)
	} else if cv.Major() == 3 && cv.Minor() < 14 && kv.AtLeast(v1beta1CRDsRemoved) {
		v.errorf(v.at(c.Calico.Body, "version"), "Calico version needs an older Kubernetes",
			"Calico %s ships its CRDs as apiextensions.k8s.io/v1beta1, which Kubernetes removed in 1.22, so it cannot run on %s. "+
				"Either keep Calico %s and set kubernetes_version = \"1.21.14\" (the last 1.21 release), or keep Kubernetes %s and set calico { version = \"v3.31.5\" } (the modern path, see examples/modern.hcl).",
			c.Calico.Version, c.KubernetesVersion, c.Calico.Version, c.KubernetesVersion)
	}

	mode := c.KubeProxy.Mode
	modeAt := v.at(c.KubeProxy.Body, "mode")
	switch {
	case mode == "ipvs" && kv.AtLeast(ipvsDeprecated):
		v.warnf(modeAt, "kube-proxy IPVS mode is deprecated",
			"Kubernetes deprecated kube-proxy's IPVS mode in 1.35; it still works on %s, but new clusters should use mode = \"nftables\".", c.KubernetesVersion)
	case mode == "nftables" && kv.Before(NFTablesKubeProxy):
		v.errorf(modeAt, "kube-proxy nftables mode needs Kubernetes 1.31",
			"kube-proxy's nftables mode is beta from Kubernetes 1.31 (alpha before, behind a feature gate). Use mode = \"ipvs\" or \"iptables\" on %s, or raise kubernetes_version.", c.KubernetesVersion)
	}
}

// retiredIngressNginx reports whether a manifest is the ingress-nginx
// controller, retired by the Kubernetes project in March 2026.
func retiredIngressNginx(manifest string) bool {
	m := strings.ToLower(manifest)
	return strings.Contains(m, "ingress-nginx") || strings.Contains(m, "nginx-ingress")
}

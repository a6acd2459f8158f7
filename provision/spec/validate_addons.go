package spec

import (
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/version"
)

// SystemNamespaces are always exempt from kprov's global default-deny.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "calico-system", "tigera-operator"}

// NICName is what cloud-init names every node's NIC (network-config
// set-name), whatever the image calls it (ens3, enp1s0).
const NICName = "eth0"

var ipvsSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"}

func (v *validator) kubeProxy() {
	k := v.c.KubeProxy
	if !v.oneOf(k.Body, "mode", k.Mode, "ipvs", "nftables", "iptables") {
		return
	}
	if k.Mode == "ipvs" {
		v.oneOf(k.Body, "ipvs_scheduler", k.IPVSScheduler, ipvsSchedulers...)
	} else if k.IPVSScheduler != "" {
		v.errorf(v.at(k.Body, "ipvs_scheduler"), "Scheduler without IPVS", "ipvs_scheduler applies only to mode = \"ipvs\"; remove it.")
	}
}

func (v *validator) calico() {
	ca := v.c.Calico
	v.manifest(ca.Body, "manifest", ca.Manifest, ca.SHA256)
	v.oneOf(ca.Body, "encapsulation", ca.Encapsulation, "none", "ipip", "vxlan")
	v.autodetection()
	if ca.MTU != "auto" {
		if n, err := strconv.Atoi(ca.MTU); err != nil || n < 1000 {
			v.errorf(v.at(ca.Body, "mtu"), "Invalid Calico MTU", "%q: use \"auto\" (the NIC MTU less the encapsulation overhead) or a number of at least 1000.", ca.MTU)
		}
	}
	if ca.ImageRegistry != "" && !validRegistry(ca.ImageRegistry) {
		v.errorf(v.at(ca.Body, "image_registry"), "Invalid image_registry", "%q: use a registry host, optionally with a port and a path, such as registry.lab:5000/calico.", ca.ImageRegistry)
	}
}

// autodetection checks Calico's IP_AUTODETECTION_METHOD against the NIC
// name kprov gives every node.
func (v *validator) autodetection() {
	ca := v.c.Calico
	at := v.at(ca.Body, "ip_autodetection_method")
	method, arg, _ := strings.Cut(ca.IPAutodetectionMethod, "=")
	switch method {
	case "first-found":
	case "can-reach":
		if arg == "" {
			v.errorf(at, "Invalid ip_autodetection_method", "can-reach needs a destination, such as can-reach=10.17.0.1.")
		}
	case "interface", "skip-interface":
		re, err := regexp.Compile("^(" + arg + ")$")
		switch {
		case arg == "" || err != nil:
			v.errorf(at, "Invalid ip_autodetection_method", "%q needs a valid interface regular expression, such as interface=eth0.", ca.IPAutodetectionMethod)
		case method == "interface" && !re.MatchString(NICName):
			v.errorf(at, "Interface never exists on the nodes",
				"kprov names every node's NIC %s through cloud-init (whatever the image calls it, ens3 or enp1s0), so %q matches no interface and calico-node would pick no address. Use interface=%s.",
				NICName, ca.IPAutodetectionMethod, NICName)
		case method == "skip-interface" && re.MatchString(NICName):
			v.errorf(at, "Every node interface skipped", "%q skips %s, the only NIC kprov gives a node; calico-node would find no address.", ca.IPAutodetectionMethod, NICName)
		}
	case "kubernetes-internal-ip":
		// The node's InternalIP is the kubelet's node-ip, which kprov sets
		// to its eth0 address. calico-node knows the method from v3.22.
		if cv, err := version.ParseSemantic(strings.TrimPrefix(ca.Version, "v")); err == nil && cv.LessThan(version.MustParseSemantic("3.22.0")) {
			v.errorf(at, "Autodetection method too new for this Calico", "kubernetes-internal-ip came with Calico v3.22; %s does not know it and would pick no address. Use interface=%s (the same address: kprov sets each node's InternalIP to its %s address), or a newer Calico.", ca.Version, NICName, NICName)
		}
	case "cidr":
		if _, err := netip.ParsePrefix(arg); err != nil {
			v.errorf(at, "Invalid ip_autodetection_method", "%q needs a CIDR, such as cidr=10.17.0.0/24.", ca.IPAutodetectionMethod)
		}
	default:
		v.errorf(at, "Invalid ip_autodetection_method", "%q: use interface=REGEX (default interface=eth0), skip-interface=REGEX, can-reach=DEST, cidr=CIDR, kubernetes-internal-ip (Calico v3.22 and later) or first-found.", ca.IPAutodetectionMethod)
	}
}

// calicoNetwork checks the pool CIDR and the MTU arithmetic.
func (v *validator) calicoNetwork(pod netip.Prefix, okPod bool) {
	ca, n := v.c.Calico, v.c.Network
	pool, ok := v.prefix(ca.Body, "pool_cidr", ca.PoolCIDR, 26)
	if ok && okPod && (!pod.Contains(pool.Addr()) || pool.Bits() < pod.Bits()) {
		v.errorf(v.at(ca.Body, "pool_cidr"), "Calico pool outside pod CIDR", "pool_cidr %s must lie inside network.pod_cidr %s, or pods get addresses Kubernetes does not route.", pool, pod)
	}
	overhead := EncapOverhead(ca.Encapsulation)
	if ca.PodMTU > 0 && ca.PodMTU+overhead > n.MTU {
		how := "no encapsulation"
		if overhead > 0 {
			how = ca.Encapsulation + " adds " + strconv.Itoa(overhead) + " bytes"
		}
		v.errorf(v.at(ca.Body, "mtu"), "Pod MTU above NIC MTU",
			"Calico MTU %d with %s needs a NIC MTU of at least %d, but network.mtu is %d; set calico mtu = \"auto\" (%d) or raise network.mtu.",
			ca.PodMTU, how, ca.PodMTU+overhead, n.MTU, n.MTU-overhead)
	}
}

// manifest checks a manifest attribute (attr) and its sum (attr's name
// with sha256 for manifest).
func (v *validator) manifest(body hcl.Body, attr, manifest, sum string) {
	sumAttr := strings.Replace(attr, "manifest", "sha256", 1)
	if u, err := url.Parse(manifest); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		// A defaulted manifest is kprov's to pin (in the lock file); one
		// the user named without a sum is theirs.
		if sum == "" && written(body, attr) {
			v.warnf(v.at(body, attr), "Manifest is not pinned", "No sha256 is set for %s, so nothing checks what is downloaded; set %s = \"...\".", manifest, sumAttr)
		}
	} else if strings.Contains(manifest, "://") || manifest == "" {
		v.errorf(v.at(body, attr), "Invalid manifest", "%q: use an http(s) URL or a local file path.", manifest)
	}
	v.sha256(body, sumAttr, sum)
}

func (v *validator) ingress() {
	in := v.c.Ingress
	if in == nil {
		return
	}
	if v.oneOf(in.Body, "controller", in.Controller, ControllerTraefik, ControllerManifest) {
		if in.Controller == ControllerTraefik {
			v.traefik()
		} else {
			v.ingressManifest()
		}
	}
	if errs := validation.IsDNS1123Label(in.Namespace); len(errs) > 0 {
		v.errorf(v.at(in.Body, "namespace"), "Invalid namespace", "%q: %s.", in.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1035Label(in.ServiceName); len(errs) > 0 {
		v.errorf(v.at(in.Body, "service_name"), "Invalid service_name", "%q: %s.", in.ServiceName, strings.Join(errs, "; "))
	}
	v.oneOf(in.Body, "external_traffic_policy", in.ExternalTrafficPolicy, "Local", "Cluster")
	if !v.oneOf(in.Body, "load_balancer", in.LoadBalancer, "metallb", "none") {
		return
	}
	if in.LoadBalancer == "none" && in.LoadBalancerManifest != "" {
		v.errorf(v.at(in.Body, "load_balancer_manifest"), "Manifest without a load balancer", "load_balancer_manifest applies only to load_balancer = \"metallb\"; remove it.")
	}
	switch {
	case in.LoadBalancer == "metallb" && len(in.Addresses) == 0:
		v.errorf(v.at(in.Body, "load_balancer"), "No addresses for MetalLB", "MetalLB announces the addresses listed in ingress.addresses; list at least one address of the node network.")
	case in.LoadBalancer == "metallb":
		v.manifest(in.Body, "load_balancer_manifest", in.LoadBalancerManifest, in.LoadBalancerSHA256)
	case len(in.Addresses) > 0:
		v.errorf(v.at(in.Body, "addresses"), "Addresses without a load balancer", "load_balancer = \"none\" leaves nothing to announce %v; remove the addresses or use load_balancer = \"metallb\".", in.Addresses)
	default:
		v.warnf(v.at(in.Body, "load_balancer"), "The ingress Service gets no address", "Nothing on KVM hosts implements Services of type LoadBalancer: without load_balancer = \"metallb\" and addresses, the ingress stays <pending>.")
	}
}

// ingressManifest checks controller "manifest": the manifest, and no
// Traefik setting.
func (v *validator) ingressManifest() {
	in := v.c.Ingress
	v.manifest(in.Body, "manifest", in.Manifest, in.SHA256)
	if retiredIngressNginx(in.Manifest) {
		v.warnf(v.at(in.Body, "manifest"), "ingress-nginx is retired",
			"The Kubernetes project retired ingress-nginx in March 2026: it gets no more releases or security fixes. kprov installs it as asked; "+
				"for new clusters on Kubernetes 1.22 or later remove manifest and set controller = \"traefik\" (the controller its retirement notice points to), or name another maintained controller's manifest.")
	}
	for _, attr := range []string{"version", "replicas", "crds_manifest", "crds_sha256", "rbac_manifest", "rbac_sha256"} {
		if written(in.Body, attr) {
			v.errorf(v.at(in.Body, attr), "Traefik setting without Traefik", "%s applies only to controller = \"traefik\"; remove it, or remove manifest and set controller = \"traefik\".", attr)
		}
	}
}

// traefikVersion is an exact Traefik release.
var traefikVersion = regexp.MustCompile(`^v(\d+)\.\d+\.\d+$`)

// traefik checks controller "traefik": its release, the Kubernetes it runs
// on, its upstream manifests, and no manifest of another controller.
func (v *validator) traefik() {
	in := v.c.Ingress
	for _, attr := range []string{"manifest", "sha256"} {
		if written(in.Body, attr) {
			v.errorf(v.at(in.Body, attr), "Manifest with controller traefik",
				"kprov builds Traefik from its published CRDs and ClusterRole (crds_manifest, rbac_manifest); %s is for controller = \"manifest\", which installs a manifest as it is. Remove %s, or set controller = \"manifest\".", attr, attr)
		}
	}
	m := traefikVersion.FindStringSubmatch(in.Version)
	switch {
	case m == nil:
		v.errorf(v.at(in.Body, "version"), "Invalid Traefik version", "%q is not an exact Traefik release such as %q. kprov pins exact versions so builds are reproducible.", in.Version, DefaultTraefikVersion)
	case m[1] != "3":
		v.errorf(v.at(in.Body, "version"), "Unsupported Traefik version", "kprov writes Traefik v3's configuration (its flags, the traefik.io CRDs); %s is not a v3 release. Use one such as %q.", in.Version, DefaultTraefikVersion)
	}
	if v.c.Kubernetes().Before(traefikMinKubernetes) {
		v.errorf(v.at(in.Body, "controller"), "Traefik v3 needs Kubernetes 1.22",
			"Traefik %s reads Ingresses only from networking.k8s.io/v1 and ships apiextensions.k8s.io/v1 CRDs; it dropped the v1beta1 APIs Kubernetes removed in 1.22, and its Helm chart requires Kubernetes 1.22 or later. This cluster runs %s. "+
				"Raise kubernetes_version to 1.22 or later, or keep %s with controller = \"manifest\" (the v3.11 stack's ingress-nginx 0.30.0).",
			in.Version, v.c.KubernetesVersion, v.c.KubernetesVersion)
	}
	if in.Replicas != nil && *in.Replicas < 1 {
		v.errorf(v.at(in.Body, "replicas"), "Invalid replicas", "replicas = %d: Traefik needs at least 1 replica to serve the ingress addresses.", *in.Replicas)
	}
	v.manifest(in.Body, "crds_manifest", in.CRDsManifest, in.CRDsSHA256)
	v.manifest(in.Body, "rbac_manifest", in.RBACManifest, in.RBACSHA256)
}

// ingressAddresses checks the addresses the ingress Service answers on:
// unique host addresses of the node network, not the gateway.
func (v *validator) ingressAddresses(node netip.Prefix, okNode bool) {
	in := v.c.Ingress
	if in == nil {
		return
	}
	seen := map[netip.Addr]bool{}
	for i, s := range in.Addresses {
		at := v.elem(in.Body, "addresses", i, "")
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil || !a.Is4():
			v.errorf(at, "Invalid ingress address", "%q is not an IPv4 address.", s)
		case seen[a]:
			v.errorf(at, "Duplicate ingress address", "%s is listed twice.", a)
		case okNode && (!node.Contains(a) || a == node.Addr() || a == lastAddr(node)):
			v.errorf(at, "Ingress address outside node network", "%s must be a host address of node_cidr %s, where the nodes can answer ARP for it.", a, node)
		case s == v.c.Network.Gateway:
			v.errorf(at, "Ingress address is the gateway", "%s is the network gateway; pick another address of %s.", a, node)
		}
		seen[a] = true
	}
}

func (v *validator) networkPolicy() {
	np := v.c.NetworkPolicy
	if np == nil {
		return
	}
	for i, ns := range np.DefaultDenyNamespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			v.errorf(v.elem(np.Body, "default_deny_namespaces", i, ""), "Invalid namespace", "%q: %s.", ns, strings.Join(errs, "; "))
		}
		if ns == "kube-system" {
			v.warnf(v.elem(np.Body, "default_deny_namespaces", i, ""), "Default deny in kube-system", "Denying all traffic in kube-system cuts off CoreDNS (every pod's name lookups), metrics-server and webhooks unless you add policies that allow them; kprov adds none there. The usual choice is to leave kube-system out.")
		}
	}
	for i, ns := range np.ExemptNamespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			v.errorf(v.elem(np.Body, "exempt_namespaces", i, ""), "Invalid namespace", "%q: %s.", ns, strings.Join(errs, "; "))
		}
	}
	if len(np.ExemptNamespaces) > 0 && !np.GlobalDefaultDeny {
		v.warnf(v.at(np.Body, "exempt_namespaces"), "Exemptions without global default-deny", "exempt_namespaces only matters with global_default_deny = true.")
	}
}

// registryPath is one path component of an image reference (Docker's
// grammar: lowercase alphanumerics joined by ., _, __ or dashes).
var registryPath = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// validRegistry checks HOST[:PORT][/PATH...] as an image registry prefix.
func validRegistry(r string) bool {
	host, path, _ := strings.Cut(strings.TrimSuffix(r, "/"), "/")
	name, port, hasPort := strings.Cut(host, ":")
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return false
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	if path == "" {
		return true
	}
	for _, c := range strings.Split(path, "/") {
		if !registryPath.MatchString(c) {
			return false
		}
	}
	return true
}

// Package e2e holds the end-to-end test of kprov: a whole `kprov up` of the
// lab's stack on real VMs (Kubernetes 1.30, Calico v3.28 in pure BGP,
// kube-proxy in IPVS mode, MetalLB, Traefik, default-deny policies), its
// networking proven with real packets from inside the lab's network
// namespace. Tests only; nothing to import.
package e2e

package spec

import "github.com/hashicorp/hcl/v2"

// Kubeadm passes settings through to kubeadm's configuration.
type Kubeadm struct {
	// IgnorePreflightErrors are kubeadm preflight check names (init and
	// join), such as "HTTPProxyCIDR"; "all" is refused.
	IgnorePreflightErrors []string `hcl:"ignore_preflight_errors,optional"`
	// ImageRepository replaces kubeadm's registry for the control plane,
	// kube-proxy, CoreDNS and pause images.
	ImageRepository string `hcl:"image_repository,optional"`
	// Extra flags of the control-plane components, as kubeadm's
	// extraArgs: flag names without "--", such as
	// controller_manager_extra_args = { "leader-elect-lease-duration" = "60s" }.
	APIServerExtraArgs         map[string]string `hcl:"api_server_extra_args,optional"`
	ControllerManagerExtraArgs map[string]string `hcl:"controller_manager_extra_args,optional"`
	SchedulerExtraArgs         map[string]string `hcl:"scheduler_extra_args,optional"`
	// Patches are kubeadm's patches (kubeadm's own "patches" directory,
	// Kubernetes 1.22+): file name to content, the name saying what is
	// patched and how, such as "kube-apiserver+strategic.yaml" or
	// "kubeletconfiguration+merge.yaml". kprov writes them to
	// PatchesDir on every node and points kubeadm init and join at it.
	Patches map[string]string `hcl:"patches,optional"`

	Body hcl.Body `hcl:",body"`
}

// Registries says where containerd pulls images from, following
// containerd's hosts.toml model: image names stay the upstream ones, and
// each upstream registry host may have mirrors.
type Registries struct {
	// MirrorAll is one registry holding every upstream registry's images
	// under /<upstream host>/ (the layout `kprov mirror --to` writes):
	// registry.k8s.io/pause:3.9 is MirrorAll/registry.k8s.io/pause:3.9.
	MirrorAll string `hcl:"mirror_all,optional"`
	// PlainHTTP allows an http:// mirror_all; CAFile is a PEM file of the
	// CA that signed its certificate.
	PlainHTTP bool   `hcl:"plain_http,optional"`
	CAFile    string `hcl:"ca_file,optional"`
	// Fallback lets containerd pull from the upstream registry when every
	// mirror fails; off, images come only from the mirrors (air-gapped).
	Fallback bool      `hcl:"fallback,optional"`
	Mirrors  []*Mirror `hcl:"mirror,block"`

	Body hcl.Body `hcl:",body"`
}

// Mirror is the mirrors of one upstream registry host.
type Mirror struct {
	// Registry is the upstream host, as in image names: docker.io,
	// registry.k8s.io, quay.io, ghcr.io, registry.example:5000.
	Registry string `hcl:"registry,label"`
	// Endpoints are registry roots (scheme://host[:port]) tried in order;
	// each serves the upstream's repositories under their own paths.
	Endpoints []string `hcl:"endpoints"`
	PlainHTTP bool     `hcl:"plain_http,optional"`
	CAFile    string   `hcl:"ca_file,optional"`
	// Fallback overrides the registries block's fallback for this host.
	Fallback *bool `hcl:"fallback,optional"`

	DefRange   hcl.Range `hcl:",def_range"`
	LabelRange hcl.Range `hcl:"registry,label_range"`
	Body       hcl.Body  `hcl:",body"`
}

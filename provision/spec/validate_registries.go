package spec

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// preflightName is a kubeadm preflight check name (FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml, HTTPProxyCIDR).
var preflightName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// flagName is a command-line flag's name as kubeadm's extraArgs take it.
var flagName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*$`)

func (v *validator) kubeadm() {
	k := v.c.Kubeadm
	for i, name := range k.IgnorePreflightErrors {
		at := v.elem(k.Body, "ignore_preflight_errors", i, "")
		switch {
		case !preflightName.MatchString(name):
			v.errorf(at, "Invalid preflight check name", "%q is not a kubeadm preflight check name such as \"HTTPProxyCIDR\" or \"NumCPU\".", name)
		case strings.EqualFold(name, "all") && len(k.IgnorePreflightErrors) > 1:
			v.errorf(at, "\"all\" with other preflight checks", "kubeadm refuses \"all\" next to individual checks: keep only \"all\", or only the checks you mean.")
		case strings.EqualFold(name, "all"):
			v.warnf(at, "Every kubeadm preflight error is ignored",
				"\"all\" turns every failed preflight check (swap, ports in use, a missing kernel module) into a warning; name the checks you mean instead.")
		}
	}
	for attr, args := range map[string]map[string]string{
		"api_server_extra_args": k.APIServerExtraArgs, "controller_manager_extra_args": k.ControllerManagerExtraArgs,
		"scheduler_extra_args": k.SchedulerExtraArgs,
	} {
		for name := range args {
			if !flagName.MatchString(name) {
				v.errorf(v.at(k.Body, attr), "Invalid flag name in "+attr,
					"%q: use the flag's name without leading dashes, such as \"leader-elect-lease-duration\".", name)
			}
		}
	}
	v.patches()
	if k.ImageRepository != "" && !validRegistry(k.ImageRepository) {
		v.errorf(v.at(k.Body, "image_repository"), "Invalid image_repository",
			"%q: use a registry host, optionally with a port and a path, such as registry.lab:5000/k8s. To keep upstream names and pull through a mirror, use a registries block instead.", k.ImageRepository)
	}
}

func (v *validator) registries() {
	r := v.c.Registries
	if r == nil {
		return
	}
	if r.MirrorAll != "" {
		v.endpoint(r.Body, "mirror_all", -1, r.MirrorAll, r.PlainHTTP, r.CAFile)
	} else {
		for _, attr := range []string{"plain_http", "ca_file"} {
			if written(r.Body, attr) {
				v.errorf(v.at(r.Body, attr), attr+" without mirror_all",
					"In the registries block, %s applies to mirror_all; set it inside the mirror block it is meant for.", attr)
			}
		}
	}
	if r.MirrorAll == "" && len(r.Mirrors) == 0 {
		v.errorf(r.Body.MissingItemRange().Ptr(), "Empty registries block",
			"Name mirror_all (one registry for every upstream) or a mirror \"HOST\" block per upstream registry, or remove the block.")
	}
	first := map[string]*Mirror{}
	for _, m := range r.Mirrors {
		at := m.LabelRange.Ptr()
		switch host := m.Registry; {
		case strings.Contains(host, "://") || strings.Contains(host, "/"):
			v.errorf(at, "Invalid mirror registry", "%q: name the upstream registry host as it appears in image names, such as \"docker.io\" or \"registry.k8s.io\", not a URL.", host)
			continue
		case host == "index.docker.io" || host == "registry-1.docker.io":
			v.errorf(at, "Invalid mirror registry", "%q: image names call Docker Hub \"docker.io\"; use mirror \"docker.io\".", host)
			continue
		case !validRegistry(host) || host != strings.ToLower(host):
			v.errorf(at, "Invalid mirror registry", "%q is not a registry host such as \"quay.io\" or \"registry.example:5000\".", host)
			continue
		}
		if f, dup := first[m.Registry]; dup {
			v.errorf(at, "Duplicate mirror", "Registry %q already has a mirror block at %s; list every endpoint in that one.", m.Registry, f.DefRange)
			continue
		}
		first[m.Registry] = m
		if len(m.Endpoints) == 0 {
			v.errorf(v.at(m.Body, "endpoints"), "No mirror endpoints", "List at least one endpoint for %s, such as [\"https://mirror.example:5000\"].", m.Registry)
		}
		for i, e := range m.Endpoints {
			v.endpoint(m.Body, "endpoints", i, e, m.PlainHTTP, m.CAFile)
		}
	}
}

// endpoint checks one mirror URL (element i of attr, or attr itself when
// i < 0) against its block's plain_http and ca_file.
func (v *validator) endpoint(body hcl.Body, attr string, i int, raw string, plainHTTP bool, caFile string) {
	at := v.at(body, attr)
	if i >= 0 {
		at = v.elem(body, attr, i, "")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		!validRegistry(u.Host) || strings.ContainsAny(raw, " \t\n\"'\\") {
		v.errorf(at, "Invalid mirror URL", "%q: use scheme://host[:port], such as https://mirror.example:5000.", raw)
		return
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		v.errorf(at, "Invalid mirror URL", "%q: a mirror is a registry root, without a path (%q); containerd adds /v2/ and the repository itself.", raw, u.Path)
		return
	}
	switch {
	case u.Scheme == "http" && !plainHTTP:
		v.errorf(at, "Plain HTTP mirror", "%q is plain HTTP: set plain_http = true in the same block to allow it, or serve the mirror over https.", raw)
	case u.Scheme == "http":
		v.warnf(at, "Plain HTTP mirror", "Images from %s travel unencrypted and unauthenticated; kprov checks each against the digest kprov.lock.hcl pins, but use https outside a lab.", raw)
	case plainHTTP:
		v.warnf(v.at(body, "plain_http"), "plain_http has no effect", "%q is https; plain_http only allows http:// mirrors.", raw)
	}
	if caFile != "" && u.Scheme == "http" {
		v.errorf(v.at(body, "ca_file"), "ca_file on a plain HTTP mirror", "%q is plain HTTP, so there is no certificate to check; remove ca_file or use https.", raw)
	}
	if strings.ContainsAny(caFile, "\x00\n\r") {
		v.errorf(v.at(body, "ca_file"), "Invalid ca_file", "The path holds a control character.")
	}
}

package spec

import (
	"encoding/hex"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/validation"
)

var linuxUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

func (v *validator) names() {
	c := v.c
	if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
		v.errorf(c.NameRange.Ptr(), "Invalid cluster name", "%q: %s. The name prefixes host and libvirt names; use lowercase letters, digits and '-'.", c.Name, strings.Join(errs, "; "))
	} else if len(c.Name) > 40 {
		v.errorf(c.NameRange.Ptr(), "Cluster name too long", "%q has %d characters; use at most 40 so libvirt and host names stay readable.", c.Name, len(c.Name))
	}
}

func (v *validator) hypervisor() {
	h := v.c.Hypervisor
	v.names()
	u, err := url.Parse(h.URI)
	switch {
	case err != nil:
		v.errorf(v.at(h.Body, "uri"), "Invalid hypervisor URI", "%v. Use qemu:///system or qemu+ssh://user@host/system.", err)
	case u.Scheme != "qemu" && u.Scheme != "qemu+ssh":
		v.errorf(v.at(h.Body, "uri"), "Unsupported hypervisor URI", "%q: kprov drives QEMU/KVM through libvirt; use qemu:///system or qemu+ssh://user@host/system.", h.URI)
	case u.Path != "/system":
		v.errorf(v.at(h.Body, "uri"), "Unsupported hypervisor URI", "%q: kprov needs the system instance (path /system) to manage networks and pools.", h.URI)
	case u.Scheme == "qemu" && (u.Host != "" || !strings.HasPrefix(h.URI, "qemu:///")):
		v.errorf(v.at(h.Body, "uri"), "Invalid hypervisor URI", "%q: a local hypervisor is qemu:///system (three slashes); a remote one is qemu+ssh://user@host/system.", h.URI)
	case u.Scheme == "qemu+ssh" && u.Hostname() == "":
		v.errorf(v.at(h.Body, "uri"), "Invalid hypervisor URI", "%q names no host; use qemu+ssh://user@host/system.", h.URI)
	}
	if !filepath.IsAbs(h.StoragePool) || filepath.Clean(h.StoragePool) != h.StoragePool || strings.ContainsFunc(h.StoragePool, unicode.IsControl) {
		v.errorf(v.at(h.Body, "storage_pool"), "Invalid storage_pool", "%q must be a clean absolute directory path on the hypervisor host, such as /var/lib/kprov/pools/demo.", h.StoragePool)
	}
	v.oneOf(h.Body, "accelerator", h.Accelerator, "auto", "kvm", "tcg")
	if d, err := time.ParseDuration(h.BootTimeout); err != nil || d < 10*time.Second || d > 2*time.Hour {
		v.errorf(v.at(h.Body, "boot_timeout"), "Invalid boot_timeout", "%q: use a duration between 10s and 2h, such as \"10m\".", h.BootTimeout)
	}
}

// BootTimeout is the parsed boot_timeout; valid after Check.
func (c *Cluster) BootTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Hypervisor.BootTimeout)
	return d
}

func (v *validator) image() {
	im := v.c.Image
	if im.Source == "" {
		v.errorf(v.at(im.Body, "source"), "Missing image", "Set image { source = ... } to a cloud image URL or a local qcow2 path, for example a Debian 12 genericcloud image.")
		return
	}
	remote := isHTTP(im.Source)
	if remote {
		if im.SHA256 == "" && im.SHA512 == "" && im.ChecksumURL == "" {
			v.warnf(v.at(im.Body, "source"), "Image is not pinned", "No sum is set for %s, so only kprov.lock.hcl (after the first download) checks what is downloaded; set image { sha256 = \"...\" }, sha512, or checksum_url to the SHA256SUMS or SHA512SUMS file published beside it.", im.Source)
		}
	} else if strings.Contains(im.Source, "://") {
		v.errorf(v.at(im.Body, "source"), "Unsupported image source", "%q: use an http(s) URL or a local file path.", im.Source)
	}
	v.sha256(im.Body, "sha256", im.SHA256)
	if im.SHA512 != "" {
		if raw, err := hex.DecodeString(im.SHA512); err != nil || len(raw) != 64 {
			v.errorf(v.at(im.Body, "sha512"), "Invalid sha512", "%q is not a sha512 digest: 128 hexadecimal characters, as printed by sha512sum.", im.SHA512)
		}
	}
	if im.ChecksumURL != "" && !isHTTP(im.ChecksumURL) {
		v.errorf(v.at(im.Body, "checksum_url"), "Invalid checksum_url", "%q: use the http(s) URL of the checksum file published beside the image, such as https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS.", im.ChecksumURL)
	}
	if im.ChecksumName != "" && (im.ChecksumURL == "" || strings.ContainsAny(im.ChecksumName, "/ \t\n")) {
		v.errorf(v.at(im.Body, "checksum_name"), "Invalid checksum_name", "%q: checksum_name is the image's file name in the checksum_url file (no slashes or spaces), and needs checksum_url.", im.ChecksumName)
	}
	if !remote && (im.SHA512 != "" || im.ChecksumURL != "") {
		v.errorf(v.at(im.Body, "source"), "Local image with download pins", "%q is a local file, but sha512 and checksum_url are checked only when kprov downloads an image: pin a local file with sha256 (sha256sum prints it), or set source to the image's URL.", im.Source)
	}
	v.oneOf(im.Body, "format", im.Format, "qcow2", "raw")
}

func (v *validator) sha256(body hcl.Body, attr, sum string) {
	if sum == "" {
		return
	}
	if raw, err := hex.DecodeString(sum); err != nil || len(raw) != 32 {
		v.errorf(v.at(body, attr), "Invalid sha256", "%q is not a sha256 digest: 64 hexadecimal characters, as printed by sha256sum.", sum)
	}
}

func (v *validator) ssh() {
	s := v.c.SSH
	if !linuxUser.MatchString(s.User) || s.User == "root" {
		v.errorf(v.at(s.Body, "user"), "Invalid ssh user", "%q: use a plain Linux user name (lowercase, at most 32 characters) other than root; kprov creates it with sudo rights.", s.User)
	}
	if b := s.Bastion; b != nil {
		if b.Host == "" || strings.ContainsAny(b.Host, " /@") {
			v.errorf(v.at(b.Body, "host"), "Invalid bastion host", "%q: use a host name or address.", b.Host)
		}
		if b.Port < 1 || b.Port > 65535 {
			v.errorf(v.at(b.Body, "port"), "Invalid bastion port", "%d is not a TCP port.", b.Port)
		}
		if !linuxUser.MatchString(b.User) {
			v.errorf(v.at(b.Body, "user"), "Invalid bastion user", "%q is not a Linux user name.", b.User)
		}
		if b.HostKey == "" {
			v.errorf(v.at(b.Body, "host_key"), "Missing bastion host key", "kprov never trusts an unknown host key: set host_key to the bastion's public host key, as printed by ssh-keyscan.")
		} else if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(b.HostKey)); err != nil {
			v.errorf(v.at(b.Body, "host_key"), "Invalid bastion host key", "%v; use one line such as \"ssh-ed25519 AAAA...\".", err)
		}
	}
}

// releaseTag is an exact release version as GitHub tags name it: v1.21.0.
var releaseTag = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// artifactNames are the files whose sha256 the artifacts block may pin.
var artifactNames = []string{"containerd", "crictl", "kubeadm", "kubectl", "kubelet", "runc", "cni-plugins"}

func (v *validator) artifacts() {
	a := v.c.Artifacts
	if written(a.Body, "containerd_version") {
		v.warnf(v.at(a.Body, "containerd_version"), "containerd_version is not used",
			"kprov installs the node distribution's containerd package (1.6 on Debian 12) and configures it; this attribute changes nothing yet, so remove it.")
	}
	if a.Mirror != "" {
		if u, err := url.Parse(a.Mirror); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(v.at(a.Body, "mirror"), "Invalid mirror", "%q: use an http(s) base URL, such as http://10.17.0.1:8080/k8s.", a.Mirror)
		}
	}
	if a.CrictlVersion != "" && !releaseTag.MatchString(a.CrictlVersion) {
		v.errorf(v.at(a.Body, "crictl_version"), "Invalid crictl_version",
			"%q is not an exact cri-tools release such as \"v1.21.0\"; kprov pins exact versions so builds are reproducible.", a.CrictlVersion)
	}
	for _, k := range sortedKeys(a.SHA256) {
		known := false
		for _, n := range artifactNames {
			known = known || k == n
		}
		if !known {
			v.errorf(v.elem(a.Body, "sha256", -1, k), "Unknown artifact", "%q: the artifacts block pins %s.", k, quoteList(artifactNames))
			continue
		}
		if raw, err := hex.DecodeString(a.SHA256[k]); err != nil || len(raw) != 32 {
			v.errorf(v.elem(a.Body, "sha256", -1, k), "Invalid sha256", "%s: %q is not 64 hexadecimal characters.", k, a.SHA256[k])
		}
	}
}

// isHTTP reports whether s is an http(s) URL with a host.
func isHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

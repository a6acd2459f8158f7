# kprov: see README.md. Every target runs on a fresh Debian 12 machine with Go.
SHELL := /bin/bash
GO ?= go
BIN := bin/kprov
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X github.com/kprov/kprov/cmd/cli.Version=$(VERSION)
# kubeadm releases that judge kprov's rendered configurations.
ORACLES := v1.21.14 v1.29.15 v1.30.4 v1.30.14 v1.37.2
# kube-apiserver releases (with etcd) of the API server judge.
APISERVERS := v1.21.14 v1.37.2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test test-short bench update lint deps oracles clean fuzz e2e
.PHONY: lab lab-deps lab-image lab-daemons lab-mirror lab-mirror-build lab-manifests lab-images lab-registry lab-status lab-down

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kprov

# The main job on the embedded default: validate, plan and render the
# user's stack (examples/cluster.hcl) into ./out.
demo: build
	$(BIN) validate examples/cluster.hcl
	$(BIN) plan --offline examples/cluster.hcl
	$(BIN) render examples/cluster.hcl --out out/demo

# Debian packages the tests use: the judges (virt-xml-validate, cloud-init's
# schema check, isoinfo/xorriso, openssl), a real libvirtd with QEMU, sshd
# for SSH tests, curl (the nodes' install script, run against a closed
# port), and what the lab image build needs.
deps:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		libvirt-clients libxml2-utils cloud-init openssl openssh-client openssh-server sudo util-linux diffutils \
		genisoimage xorriso libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils \
		dnsmasq-base iproute2 iptables debootstrap extlinux syslinux-common e2fsprogs fdisk containerd bird busybox iputils-ping curl >/dev/null
	@# bird is here for its parser (bird -p); its own daemon is not wanted.
	-@$(SUDO) systemctl disable --now bird.service bird6.service >/dev/null 2>&1

# Real kubeadm, kube-apiserver and etcd binaries built from the Go module
# proxy, cached in ~/.cache/kprov.
oracles:
	@for v in $(ORACLES); do bootstrap/kubeadm/oracle/build.sh $$v; done
	@for v in $(APISERVERS); do bootstrap/kubeadm/oracle/build.sh $$v "" kube-apiserver || exit 1; done
	@bootstrap/kubeadm/oracle/build-etcd.sh
	@bootstrap/kubeadm/oracle/build-kube-vip.sh

# Every tier: unit, golden, CLI scripts, the real judges and the real-VM
# tests (which serve the lab's binaries and images, built here and cached);
# then a bounded fuzzing run (FUZZTIME each; longer locally: make fuzz
# FUZZTIME=10m).
test: deps oracles lab-mirror-build lab-images
	$(GO) test -count=1 -timeout 85m ./...
	$(MAKE) fuzz

# The end-to-end tests of the lab's stack (provision/lab/e2e): a whole kprov
# up on three VMs, checked with real traffic, 30-40 minutes; and upgrades
# in place from UPGRADE_FROM (its binaries and images built here too), 45 minutes;
# three control planes behind kube-vip's address, one destroyed, about an hour.
UPGRADE_FROM := v1.29.15 v1.30.4
# The proxy serves no cri-tools v1.29.0: the upgrade's spec names crictl v1.30.0.
UPGRADE_CRICTL := v1.30.0
e2e: deps oracles lab-mirror-build lab-manifests lab-images
	for v in $(UPGRADE_FROM); do $(SUDO) env PATH="$$PATH" KPROV_CRICTL_VERSION=$(UPGRADE_CRICTL) $(MIRROR) build $$v || exit 1; done
	$(SUDO) env PATH="$$PATH" $(REGISTRY) build provision/lab/e2e/images.json
	KPROV_E2E=1 $(GO) test -count=1 -timeout 200m -v ./provision/lab/e2e/

FUZZTIME ?= 20s
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
fuzz:
	$(FUZZ) -fuzz '^FuzzLoad$$' ./provision/spec/
	$(FUZZ) -fuzz '^FuzzDecode$$' ./bootstrap/addons/
	$(FUZZ) -fuzz '^FuzzPatch$$' ./bootstrap/addons/

# Fast tier only: skips tests that need the judges above.
test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Refresh golden files after checking a change is intended.
update:
	$(GO) test ./... -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin out

# The local lab (examples/lab.hcl) in real VMs under software emulation. The
# libvirt daemons, the lab's network and the VMs live in a network namespace
# (provision/lab/lab.sh); `lab.sh exec CMD` runs CMD in it (virsh, kprov, ssh).
LAB := provision/lab/lab.sh
LAB_SPEC := examples/lab.hcl

# Debian packages the lab needs, installed once.
LAB_TOOLS := libvirtd virtlogd virsh qemu-system-x86_64 qemu-img dnsmasq iptables debootstrap extlinux sfdisk ssh
lab-deps:
	@(for t in $(LAB_TOOLS); do PATH="$$PATH:/usr/sbin:/sbin" command -v $$t >/dev/null || exit 1; done) || { \
	echo "installing the lab's Debian packages"; \
	$(SUDO) apt-get update -qq && \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils \
		dnsmasq-base iproute2 iptables debootstrap extlinux syslinux-common e2fsprogs fdisk \
		openssh-client >/dev/null; }

# The node image examples/lab.hcl names, cached by the hash of its recipe.
lab-image: lab-deps
	$(SUDO) provision/lab/image.sh

lab-daemons: lab-deps
	$(SUDO) $(LAB) up

# Static kubeadm, kubelet and kubectl of the lab's version, built from the Go
# module proxy (cached; kubelet takes minutes the first time), served with
# dl.k8s.io's layout on the lab network's gateway inside the namespace
# (examples/lab.hcl's artifacts.mirror).
MIRROR := provision/lab/mirror.sh
lab-mirror-build:
	$(SUDO) env PATH="$$PATH" $(MIRROR) build

lab-mirror: lab-daemons lab-mirror-build
	$(SUDO) $(MIRROR) serve

# The addon manifests examples/lab.hcl names, from the upstream modules on
# the Go module proxy (provision/lab/manifests.sh).
lab-manifests:
	$(SUDO) env PATH="$$PATH" provision/lab/manifests.sh

# The container images the lab's spec needs, built here from source (no
# registry is reachable) and cached by the hash of their recipe
# (provision/lab/images), served read-only under their upstream names in the
# mirror_all layout on the lab network's gateway inside the namespace
# (http://10.77.0.1:5000/v2/registry.k8s.io/pause/manifests/3.9).
REGISTRY := provision/lab/registry.sh
lab-images: build lab-deps lab-manifests
	$(SUDO) env PATH="$$PATH" $(REGISTRY) build

lab-registry: lab-daemons lab-images
	$(SUDO) env PATH="$$PATH" $(REGISTRY) serve

lab-status:
	$(SUDO) $(LAB) status
	-$(SUDO) $(MIRROR) status
	-$(SUDO) $(REGISTRY) status

# The whole kprov up: VMs, kubeadm init and join, Calico, MetalLB, Traefik
# and the policies; then the nodes and what verify checks. up ends with how
# to reach the cluster (kubectl, the ingress's address).
lab: build lab-image lab-daemons lab-mirror lab-images lab-registry
	$(SUDO) $(LAB) exec $(BIN) up $(LAB_SPEC)
	$(SUDO) $(LAB) exec $(BIN) status $(LAB_SPEC)
	$(SUDO) $(LAB) exec $(BIN) verify $(LAB_SPEC)

# kprov down runs only while the daemons are up; then the daemons go.
lab-down: build
	@if $(SUDO) $(LAB) status >/dev/null 2>&1; then \
		$(SUDO) $(LAB) exec $(BIN) down $(LAB_SPEC); \
	else echo "lab daemons are down: nothing for kprov down to remove"; fi
	$(SUDO) $(MIRROR) stop
	$(SUDO) $(REGISTRY) stop
	$(SUDO) $(LAB) down

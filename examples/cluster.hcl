# The user's stack, as in the early-2020 article: Calico v3.11 over pure BGP,
# kube-proxy in IPVS mode, an ingress whose LoadBalancer Service keeps client
# source addresses (externalTrafficPolicy: Local), and default-deny policies.
#
# Calico v3.11 ships its CRDs as apiextensions.k8s.io/v1beta1, which
# Kubernetes removed in 1.22: this stack is pinned to Kubernetes 1.21.
# examples/modern.hcl is the same cluster on current versions.

variable "workers" {
  type        = number
  default     = 2
  description = "Number of worker nodes."
  validation {
    condition     = var.workers >= 1 && var.workers <= 50
    error_message = "Use between 1 and 50 workers."
  }
}

locals {
  ingress_vip = "10.17.0.240"
}

cluster "demo" {
  # Exact release: kprov never floats to "latest". 1.21.14 is the last 1.21.
  kubernetes_version = "1.21.14"

  hypervisor {
    uri          = "qemu:///system"          # or qemu+ssh://user@host/system
    storage_pool = "/var/lib/kprov/pools/demo" # a directory on the hypervisor host
    accelerator  = "auto"                    # kvm, tcg (software emulation) or auto
    boot_timeout = "10m"                     # how long a node may take to answer SSH
  }

  image {
    # A cloud image with cloud-init (its NIC is ens3/enp1s0; kprov renames it eth0).
    source = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
    # Checked against the sums Debian publishes beside it; kprov downloads
    # it once into ~/.cache/kprov/images and records its sha256 in
    # kprov.lock.hcl, so a later "latest" that differs is refused. Set
    # sha256 = "..." instead to pin the exact image you tested.
    checksum_url = "https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
    format = "qcow2"
  }

  network {
    mode         = "nat"            # nat, isolated or bridge (with bridge = "br0")
    node_cidr    = "10.17.0.0/24"   # nodes get deterministic addresses from .11 on
    gateway      = "10.17.0.1"
    mtu          = 1500             # NIC MTU; Calico's pod MTU follows it
    dns_domain   = "cluster.local"
    pod_cidr     = "192.168.0.0/16" # Calico v3.11's default pool
    service_cidr = "10.96.0.0/12"
  }

  ssh {
    user = "kprov"
    # private_key = "~/.ssh/id_ed25519" # default: a key generated for this cluster
  }

  node_pool "control-plane" {
    role      = "control-plane"
    count     = 1      # 1, 3 or 5: etcd wants an odd number
    vcpu      = 2      # kubeadm's minimum for a control plane
    memory    = "2GiB" # kubeadm's minimum is 1700 MiB
    disk_size = "20GiB"
    disk_bus  = "nvme" # NVMe-backed qcow2; or virtio
  }

  node_pool "worker" {
    role      = "worker"
    count     = var.workers
    vcpu      = 2
    memory    = "2GiB"
    disk_size = "20GiB"
    labels    = { "node.kprov.dev/pool" = "worker" }
  }

  kube_proxy {
    mode           = "ipvs" # ipvs, nftables or iptables
    ipvs_scheduler = "rr"
  }

  calico {
    version                 = "v3.11.3"
    manifest                = "https://docs.projectcalico.org/v3.11/manifests/calico.yaml"
    encapsulation           = "none"           # pure BGP; ipip or vxlan otherwise
    ip_autodetection_method = "interface=eth0" # kprov names every node's NIC eth0
    mtu                     = "auto"           # NIC MTU less encapsulation overhead
  }

  ingress {
    manifest                = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/nginx-0.30.0/deploy/static/mandatory.yaml"
    namespace               = "ingress-nginx"
    service_name            = "ingress-nginx"
    external_traffic_policy = "Local" # keep client source addresses
    addresses               = [local.ingress_vip]
    # No cloud gives a KVM host's Service an address: MetalLB (layer 2)
    # announces the addresses above from a node that runs an ingress pod.
    load_balancer = "metallb" # or "none"
    # load_balancer_manifest = "..." # default: MetalLB v0.13.5 for 1.21
  }

  network_policy {
    default_deny_namespaces = ["default"]
    deny_egress             = false
    global_default_deny     = false
  }

  etcd {
    disk_check = "enforce" # refuse a disk whose fdatasync p99 is 10 ms or more
  }

  artifacts {
    # mirror = "http://10.17.0.1:8080/k8s" # for air-gapped labs
  }

  # kubeadm {
  #   ignore_preflight_errors = ["NumCPU"]       # init and join; name the checks, not "all"
  #   image_repository        = "registry.example/k8s" # renames kubeadm's images; a
  #                                              # registries mirror keeps upstream names
  # }

  # Air-gapped or staging sites: containerd pulls every image through these
  # mirrors under its upstream name (containerd's hosts.toml model), and
  # `kprov images` / `kprov mirror --to REGISTRY` list and copy the set.
  # registries {
  #   mirror_all = "https://registry.example:5000" # one registry holding every
  #                                                # upstream under /<host>/ (the
  #                                                # layout kprov mirror writes)
  #   ca_file    = "certs/registry-ca.pem"         # a private CA (spec-relative)
  #   plain_http = false                           # http:// needs true (labs only)
  #   fallback   = false                           # never go upstream when mirrors fail
  #   mirror "docker.io" {                         # or one block per upstream host
  #     endpoints = ["https://hub-cache.example"]  # registry roots, tried in order
  #   }
  # }
}

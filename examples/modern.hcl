# The same cluster on current versions: Kubernetes 1.37, a current Calico
# (apiextensions.k8s.io/v1 CRDs), kube-proxy in nftables mode (IPVS is
# deprecated since 1.35), three control planes, and Traefik as the ingress
# controller (ingress-nginx was retired in March 2026; its retirement notice
# points to Traefik).

cluster "modern" {
  kubernetes_version = "1.37.2"

  hypervisor {
    uri          = "qemu:///system"
    storage_pool = "/var/lib/kprov/pools/modern"
    accelerator  = "auto"
  }

  image {
    source = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2"
    # Checked against the sums Debian publishes beside it; kprov downloads
    # it once into ~/.cache/kprov/images and records its sha256 in
    # kprov.lock.hcl, so a later "latest" that differs is refused. Set
    # sha256 = "..." instead to pin the exact image you tested.
    checksum_url = "https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS"
  }

  network {
    mode         = "nat"
    node_cidr    = "10.18.0.0/24"
    mtu          = 1500
    pod_cidr     = "172.20.0.0/16"
    service_cidr = "10.96.0.0/12"
  }

  node_pool "cp" {
    role   = "control-plane"
    count  = 3
    vcpu   = 2
    memory = "4GiB"
  }

  node_pool "worker" {
    role   = "worker"
    count  = 3
    vcpu   = 4
    memory = "8GiB"
  }

  kube_proxy {
    mode = "nftables"
  }

  calico {
    version       = "v3.31.5"
    manifest      = "https://raw.githubusercontent.com/projectcalico/calico/v3.31.5/manifests/calico.yaml"
    encapsulation = "none"
  }

  ingress {
    # kprov writes Traefik's Deployment, Service, ServiceAccount, binding and
    # IngressClass; the CRDs and the ClusterRole are Traefik's own, fetched
    # from the release and pinned in kprov.lock.hcl.
    controller = "traefik" # or "manifest" to install a manifest as it is
    version    = "v3.6.12"
    replicas   = 1
    # crds_manifest = "..." # default: Traefik's kubernetes-crd-definition-v1.yml of version
    # rbac_manifest = "..." # default: Traefik's kubernetes-crd-rbac.yml of version
    external_traffic_policy = "Local" # keep client source addresses
    addresses               = ["10.18.0.240"]
    load_balancer           = "metallb" # MetalLB v0.15.2 on 1.22 and later
  }

  network_policy {
    default_deny_namespaces = ["default"]
    deny_egress             = true
    global_default_deny     = true
  }
}

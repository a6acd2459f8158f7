# A small local lab: one control plane and one worker under software
# emulation (tcg), on an isolated network that never leaves this host. It
# runs the modern path (Kubernetes 1.30, Calico v3.28): the early-2020
# stack's Calico v3.11 cannot be built here (provision/lab/README.md).

cluster "lab" {
  kubernetes_version = "1.30.14"

  hypervisor {
    uri          = "qemu:///system"
    storage_pool = "/var/lib/kprov/pools/lab"
    accelerator  = "tcg"
    boot_timeout = "6m" # software emulation boots in 1-2 minutes
  }

  image {
    # Built locally from Debian's packages by the lab script.
    source = "/var/lib/kprov/images/kprov-lab-bookworm.qcow2"
  }

  network {
    mode      = "isolated"
    node_cidr = "10.77.0.0/24"
    mtu       = 1500
  }

  node_pool "cp" {
    role      = "control-plane"
    vcpu      = 2
    memory    = "2GiB"
    disk_size = "8GiB"
  }

  node_pool "worker" {
    role      = "worker"
    vcpu      = 1
    memory    = "1GiB"
    disk_size = "8GiB"
  }

  kube_proxy {
    mode = "ipvs"
  }

  calico {
    version = "v3.28.5"
    # Upstream's manifest, read from Calico's module zip on the Go module
    # proxy by provision/lab/manifests.sh (make lab does it).
    manifest = "/var/lib/kprov/manifests/calico-v3.28.5.yaml"
  }

  network_policy {
    default_deny_namespaces = ["default"]
  }

  etcd {
    # Software emulation makes every fdatasync slow: measure and report the
    # disk, but do not stop the lab for it.
    disk_check = "warn"
  }

  artifacts {
    # The lab's mirror (provision/lab/mirror.sh): kubeadm, kubelet, kubectl
    # and crictl built from the Go module proxy, served with the upstream
    # layout on the lab network's gateway, inside the lab's network namespace.
    mirror = "http://10.77.0.1:8080"
  }

  # Every container image from the lab's registry (provision/lab/registry.sh):
  # images built here from the Go module proxy, served on the gateway inside
  # the lab's namespace under their upstream names, so nodes pull
  # registry.k8s.io/pause:3.9 and docker.io/calico/node:v3.28.5 unchanged.
  registries {
    mirror_all = "http://10.77.0.1:5000"
    plain_http = true
  }
}

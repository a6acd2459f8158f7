# The lab spec as it was with Kubernetes 1.21 (examples/lab.hcl moved to
# 1.30): the fixture of the source, lock and install tests.

cluster "lab" {
  kubernetes_version = "1.21.14"

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

  ingress {
    addresses = ["10.77.0.240"]
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
    # The Go module proxy serves cri-tools v1.30.0 but not v1.21.x; crictl
    # speaks CRI v1, which the nodes' containerd 1.6 serves.
    crictl_version = "v1.30.0"
  }
}

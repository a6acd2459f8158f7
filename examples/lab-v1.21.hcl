# The local lab on the user's release: examples/lab.hcl (one control plane
# and two workers under software emulation, on an isolated network that
# never leaves this host) with Kubernetes 1.21.14, the release of
# examples/cluster.hcl, so that a real kubeadm init and join of 1.21 (kubeadm
# config v1beta2, chosen by kprov from the version) runs in the lab. Its
# images are k8s.gcr.io's, built here like 1.30's
# (provision/lab/images/set.go). Calico stays examples/lab.hcl's v3.28.5:
# the early-2020 stack's Calico v3.11 cannot be built here
# (provision/lab/README.md).
#
# The same node network as examples/lab.hcl: the lab's mirror and registry
# listen only on that network's gateway, 10.77.0.1, and libvirt refuses a
# second network on the same subnet, so this cluster and "lab" can both be
# defined but only one runs at a time (kprov down the other first).

cluster "lab121" {
  kubernetes_version = "1.21.14"

  hypervisor {
    uri          = "qemu:///system"
    storage_pool = "/var/lib/kprov/pools/lab121"
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
    count     = 2
    vcpu      = 1
    memory    = "1536MiB"
    disk_size = "8GiB"
  }

  kube_proxy {
    mode = "ipvs"
  }

  calico {
    version = "v3.28.5"
    # Upstream's manifest, read from Calico's module zip on the Go module
    # proxy by provision/lab/manifests.sh (make lab does it), with
    # calico-node's probes slowed for software emulation (every 60 s, 60 s
    # to answer, 20 failures): their 10 s restarted it while it started.
    manifest = "/var/lib/kprov/manifests/calico-v3.28.5-lab.yaml"
  }

  # No ingress, and so no MetalLB (kprov installs it for the ingress
  # Service): kprov refuses Traefik v3 below Kubernetes 1.22 ("Traefik v3
  # needs Kubernetes 1.22"), and 1.21's controller in examples/cluster.hcl,
  # ingress-nginx 0.30.0, cannot be built here. examples/lab.hcl keeps
  # Traefik v3.6.12 and MetalLB v0.15.2.

  network_policy {
    default_deny_namespaces = ["default"]
    # And Calico's GlobalNetworkPolicy: every namespace but the system
    # ones is denied unless a policy allows the traffic.
    global_default_deny = true
  }

  kubeadm {
    # The lab's kubeadm is built here with a newer Go, whose URL parser
    # rejects the bracketed IPv4 address this preflight check builds
    # (`parse "https://[10.96.0.1]:1234/": invalid IP-literal`), in 1.21 as
    # in 1.30. Released kubeadm binaries do not need this.
    ignore_preflight_errors = ["HTTPProxyCIDR"]
    # Under software emulation on a busy host the API server can take more
    # than a minute to renew a lease: the controller manager and the
    # scheduler then exit ("leaderelection lost") and, until they are
    # back, no kubelet certificate is signed and no join finishes. With one
    # control plane there is no one to elect: turn the election off (add
    # control planes only after removing these two lines).
    controller_manager_extra_args = {
      "leader-elect" = "false"
    }
    scheduler_extra_args = {
      "leader-elect" = "false"
    }
  }

  timeouts {
    # Three nodes under software emulation on two cores: calico-node takes
    # minutes to roll out.
    rollout     = "15m"
    nodes_ready = "15m"
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
    # Not kprov's default for 1.21 (v1.21.0): the Go module proxy does not
    # serve sigs.k8s.io/cri-tools at v1.21.0, so mirror.sh cannot build it.
    # examples/lab.hcl's crictl talks CRI v1, which the nodes' containerd
    # serves, and has the commands kubeadm 1.21 runs (info, pull, pods,
    # stopp, rmp). mirror.sh reads this with KPROV_LAB_SPEC=this file.
    crictl_version = "v1.30.0"
  }

  # Every container image from the lab's registry (provision/lab/registry.sh):
  # images built here from the Go module proxy, served on the gateway inside
  # the lab's namespace under their upstream names, so nodes pull
  # k8s.gcr.io/pause:3.4.1 and docker.io/calico/node:v3.28.5 unchanged.
  registries {
    mirror_all = "http://10.77.0.1:5000"
    plain_http = true
  }
}

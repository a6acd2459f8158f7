# A small local lab: one control plane and one worker, both running pods,
# under software emulation (tcg) on an isolated network that never leaves
# this host. It runs the modern path (Kubernetes 1.30, Calico v3.28): the early-2020
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
    # Two cores under software emulation hold two VMs, not three: with a
    # second worker the control plane answered too late for calico-node's
    # fixed 2 s start-up query. So the control plane runs pods too, though
    # the scheduler prefers the worker (kubeadm's NoSchedule taint becomes
    # PreferNoSchedule).
    taints = ["node-role.kubernetes.io/control-plane:PreferNoSchedule"]
  }

  node_pool "worker" {
    role      = "worker"
    count     = 1
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

  ingress {
    # Traefik (ingress-nginx was retired in March 2026), its Service a
    # LoadBalancer with externalTrafficPolicy Local, its address announced
    # by MetalLB in layer 2. The lab reads upstream's files from the Go
    # module proxy's zips (provision/lab/manifests.sh).
    controller              = "traefik"
    version                 = "v3.6.12"
    crds_manifest           = "/var/lib/kprov/manifests/traefik-v3.6.12-crds.yaml"
    rbac_manifest           = "/var/lib/kprov/manifests/traefik-v3.6.12-rbac.yaml"
    external_traffic_policy = "Local"
    addresses               = ["10.77.0.240"]
    load_balancer           = "metallb"
    load_balancer_manifest  = "/var/lib/kprov/manifests/metallb-v0.15.2-native-lab.yaml"
  }

  network_policy {
    default_deny_namespaces = ["default"]
    # And Calico's GlobalNetworkPolicy: every namespace but the system
    # ones is denied unless a policy allows the traffic.
    global_default_deny = true
  }

  kubeadm {
    # The lab's kubeadm is built here with a newer Go, whose URL parser
    # rejects the bracketed IPv4 address this preflight check builds
    # (`parse "https://[10.96.0.1]:1234/": invalid IP-literal`). Released
    # kubeadm binaries do not need this.
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
    # When calico-node starts on every node at once, the emulated control
    # plane is so busy that etcd and the API server answer their liveness
    # probes late; kubeadm's probes (15 s, 8 failures) then restart the API
    # server, and a restart under that load never finishes (its start-up
    # hooks time out). Give both ten minutes instead.
    patches = {
      "kube-apiserver+strategic.yaml" = <<-EOT
        spec:
          containers:
          - name: kube-apiserver
            livenessProbe: {timeoutSeconds: 60, periodSeconds: 20, failureThreshold: 30}
            startupProbe: {timeoutSeconds: 60, failureThreshold: 60}
        EOT
      "etcd+strategic.yaml" = <<-EOT
        spec:
          containers:
          - name: etcd
            livenessProbe: {timeoutSeconds: 60, periodSeconds: 20, failureThreshold: 30}
            startupProbe: {timeoutSeconds: 60, failureThreshold: 60}
        EOT
    }
  }

  timeouts {
    # Software emulation on two cores: calico-node became ready on both
    # nodes about 20 minutes after it was applied (the API server is slow to
    # answer its and the CNI plugin's first calls).
    rollout     = "30m"
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

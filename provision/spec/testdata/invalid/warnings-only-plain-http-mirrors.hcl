cluster "demo" {
  kubernetes_version = "1.30.14"
  image { source = "/srv/images/debian.qcow2" }
  calico { version = "v3.28.5" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kube_proxy { mode = "iptables" }
  kubeadm { ignore_preflight_errors = ["all"] }
  registries {
    # A lab registry holding every upstream under /<host>/.
    mirror_all = "http://10.77.0.1:5000"
    plain_http = true
    mirror "docker.io" {
      endpoints  = ["https://hub-cache.example:5443"]
      plain_http = true
      ca_file    = "certs/hub-ca.pem"
    }
  }
}

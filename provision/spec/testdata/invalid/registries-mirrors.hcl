cluster "demo" {
  kubernetes_version = "1.30.14"
  image { source = "/srv/images/debian.qcow2" }
  calico { version = "v3.28.5" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kubeadm {
    ignore_preflight_errors = ["HTTPProxyCIDR", "bad name;rm"]
    image_repository        = "https://registry.example/k8s"
  }
  registries {
    mirror_all = "http://10.77.0.1:5000"
    mirror "https://quay.io" {
      endpoints = ["https://quay-cache.example"]
    }
    mirror "index.docker.io" {
      endpoints = ["https://hub-cache.example"]
    }
    mirror "ghcr.io" {
      endpoints = ["http://ghcr-cache.example:5000", "https://ghcr-cache.example/v2/ghcr"]
      ca_file   = "ca.pem"
    }
    mirror "ghcr.io" {
      endpoints = ["https://other.example"]
    }
    mirror "registry.k8s.io" {
      endpoints  = []
      plain_http = true
    }
  }
}

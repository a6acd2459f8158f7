# kprov.lock.hcl: the sha256 of every artifact kprov downloads or reads for
# the specs in this folder. Written by kprov on first use and checked on every
# run after; commit it. kprov --locked refuses anything not recorded here.

artifact "calico" {
  source = "https://docs.projectcalico.org/v3.11/manifests/calico.yaml"
  sha256 = "5555555555555555555555555555555555555555555555555555555555555555"
}

artifact "crictl" {
  source = "http://10.77.0.1:8080/cri-tools/v1.30.0/crictl-v1.30.0-linux-amd64.tar.gz"
  sha256 = "4444444444444444444444444444444444444444444444444444444444444444"
}

artifact "image" {
  source = "/var/lib/kprov/images/kprov-lab-bookworm.qcow2"
  sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
}

artifact "ingress" {
  source = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/nginx-0.30.0/deploy/static/mandatory.yaml"
  sha256 = "6666666666666666666666666666666666666666666666666666666666666666"
}

artifact "kubeadm" {
  source = "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubeadm"
  sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
}

artifact "kubeadm" {
  source = "https://dl.k8s.io/release/v1.30.14/bin/linux/amd64/kubeadm"
  sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
}

artifact "kubectl" {
  source = "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubectl"
  sha256 = "3333333333333333333333333333333333333333333333333333333333333333"
}

artifact "kubelet" {
  source = "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubelet"
  sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
}

artifact "load-balancer" {
  source = "https://raw.githubusercontent.com/metallb/metallb/v0.13.5/config/manifests/metallb-native.yaml"
  sha256 = "7777777777777777777777777777777777777777777777777777777777777777"
}

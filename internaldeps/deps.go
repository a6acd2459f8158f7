package deps

import (
	_ "github.com/hashicorp/hcl/v2/gohcl"
	_ "github.com/hashicorp/hcl/v2/hclsimple"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "github.com/zclconf/go-cty/cty"
	_ "golang.org/x/crypto/ssh"
	_ "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta3"
	_ "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	_ "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/validation"
	_ "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme"
	_ "k8s.io/kube-proxy/config/v1alpha1"
	_ "k8s.io/kubelet/config/v1beta1"
	_ "libvirt.org/go/libvirtxml"
	_ "sigs.k8s.io/yaml"
)

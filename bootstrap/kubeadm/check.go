package kubeadm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubeproxy "k8s.io/kube-proxy/config/v1alpha1"
	kubelet "k8s.io/kubelet/config/v1beta1"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/validation"

	"github.com/kprov/kprov/provision/secrets"
)

// validate decodes the rendered documents back as kubeadm would, strictly
// and with upstream defaulting, and runs upstream validation on them. It
// uses only the validation functions that do not look at the host.
func validate(docs []document, s *secrets.Secrets) error {
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	var (
		initCfg    *kubeadmapi.InitConfiguration
		clusterCfg *kubeadmapi.ClusterConfiguration
		errs       field.ErrorList
	)
	for _, d := range docs {
		b, err := encode(d)
		if err != nil {
			return err
		}
		switch d.kind {
		case "KubeProxyConfiguration":
			err = strictJSON(d, &kubeproxy.KubeProxyConfiguration{})
		case "KubeletConfiguration":
			err = strictJSON(d, &kubelet.KubeletConfiguration{})
		default:
			var obj any
			obj, _, err = codecs.UniversalDecoder().Decode(b, nil, nil)
			switch o := obj.(type) {
			case *kubeadmapi.InitConfiguration:
				initCfg = o
			case *kubeadmapi.ClusterConfiguration:
				clusterCfg = o
			case *kubeadmapi.JoinConfiguration:
				errs = append(errs, validation.ValidateJoinConfiguration(o)...)
			}
		}
		if err != nil {
			return redact(fmt.Errorf("%s does not decode: %w", d.kind, err), s)
		}
	}
	if initCfg != nil {
		if clusterCfg == nil {
			return errors.New("InitConfiguration without a ClusterConfiguration")
		}
		initCfg.ClusterConfiguration = *clusterCfg
		errs = append(errs, validation.ValidateInitConfiguration(initCfg)...)
	}
	if len(errs) > 0 {
		return redact(fmt.Errorf("kubeadm validation: %w", errs.ToAggregate()), s)
	}
	return nil
}

// strictJSON decodes a component config document into v, refusing fields
// the upstream type does not have.
func strictJSON(d document, v any) error {
	b, err := json.Marshal(d.fields)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// redact removes the join secrets from an error message.
func redact(err error, s *secrets.Secrets) error {
	msg := err.Error()
	if s != nil {
		// The token ID is public; its secret half is not.
		_, tokenSecret, _ := strings.Cut(s.BootstrapToken, ".")
		for _, secret := range []string{s.CertificateKey, tokenSecret} {
			if secret != "" {
				msg = strings.ReplaceAll(msg, secret, "<redacted>")
			}
		}
	}
	return errors.New(msg)
}

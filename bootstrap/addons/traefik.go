package addons

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kprov/kprov/provision/spec"
)

// Traefik is the Traefik kprov writes for controller = "traefik".
type Traefik struct {
	// Version is the release: the image tag, such as v3.6.12.
	Version string
	// Namespace and Service are where its pods run and the Service in
	// front of them (PatchIngress makes it the LoadBalancer).
	Namespace, Service string
	Replicas           int32
}

// TraefikOf reads the Traefik settings of a normalized spec (nil: the
// ingress, if any, is a manifest).
func TraefikOf(c *spec.Cluster) *Traefik {
	in := c.Ingress
	if in == nil || in.Controller != spec.ControllerTraefik {
		return nil
	}
	t := &Traefik{Version: in.Version, Namespace: in.Namespace, Service: in.ServiceName, Replicas: 1}
	if in.Replicas != nil {
		t.Replicas = int32(*in.Replicas)
	}
	return t
}

// Names of the objects kprov writes for Traefik, and what they hold.
const (
	TraefikName       = "traefik"
	TraefikClass      = "traefik"
	TraefikController = "traefik.io/ingress-controller"
	TraefikImage      = "docker.io/traefik"
	// AnnotationDefaultClass makes an IngressClass the cluster's default.
	AnnotationDefaultClass = "ingressclass.kubernetes.io/is-default-class"
)

// Traefik's entry points: web and websecure behind the Service's http and
// https ports, traefik for /ping only (no API, no dashboard).
const (
	traefikWeb    = 8000
	traefikSecure = 8443
	traefikPing   = 8080
)

// TraefikObjects is the ingress step of controller "traefik": the CRDs of
// crds and the ClusterRoles of rbac as Traefik publishes them, without
// rbac's ClusterRoleBindings (upstream binds ServiceAccount
// traefik-ingress-controller of namespace default), then kprov's Namespace,
// ServiceAccount, a ClusterRoleBinding of each ClusterRole to it (named
// like the role, so it takes the place of upstream's), the default
// IngressClass, the Deployment and its Service. The sources name the
// manifests in errors.
func TraefikObjects(crdsSource string, crds []Object, rbacSource string, rbac []Object, t Traefik) ([]Object, error) {
	if len(kinds(crds, "CustomResourceDefinition")) == 0 {
		return nil, &MissingError{crdsSource, "CustomResourceDefinition", "is it Traefik's kubernetes-crd-definition-v1.yml (ingress.crds_manifest)?"}
	}
	roles := kinds(rbac, "ClusterRole")
	if len(roles) == 0 {
		return nil, &MissingError{rbacSource, "ClusterRole", "is it Traefik's kubernetes-crd-rbac.yml (ingress.rbac_manifest)?"}
	}
	out := append([]Object{}, crds...)
	for _, o := range rbac {
		if o.GetKind() != "ClusterRoleBinding" {
			out = append(out, o)
		}
	}
	typed := []any{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: t.Namespace}},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: t.meta(TraefikName)},
	}
	for _, r := range roles {
		typed = append(typed, &rbacv1.ClusterRoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: r.GetName(), Labels: t.labels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.GetName()},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: TraefikName, Namespace: t.Namespace}},
		})
	}
	typed = append(typed,
		&networkingv1.IngressClass{
			TypeMeta: typeMeta("networking.k8s.io/v1", "IngressClass"),
			ObjectMeta: metav1.ObjectMeta{Name: TraefikClass, Labels: t.labels(),
				Annotations: map[string]string{AnnotationDefaultClass: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: TraefikController},
		},
		t.deployment(),
		t.service(),
	)
	own, err := toObjects(typed)
	if err != nil {
		return nil, fmt.Errorf("traefik: %w", err)
	}
	return append(out, own...), nil
}

func kinds(objs []Object, kind string) []Object {
	var out []Object
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// selector labels the pods, as Traefik's Helm chart does.
func (t Traefik) selector() map[string]string {
	return map[string]string{"app.kubernetes.io/name": TraefikName, "app.kubernetes.io/instance": TraefikName + "-" + t.Namespace}
}

func (t Traefik) labels() map[string]string {
	l := t.selector()
	l["app.kubernetes.io/managed-by"] = "kprov"
	return l
}

func (t Traefik) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: t.Namespace, Labels: t.labels()}
}

// deployment runs Traefik with the Kubernetes Ingress and CRD providers,
// following the Helm chart's defaults: its entry points, probes on /ping,
// a non-root read-only container. The image's entrypoint is traefik, so
// only arguments are given.
func (t Traefik) deployment() *appsv1.Deployment {
	replicas := t.Replicas
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	grace := int64(60)
	uid, yes, no := int64(65532), true, false
	probe := func(failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ping", Port: intstr.FromInt32(traefikPing), Scheme: corev1.URISchemeHTTP}},
			InitialDelaySeconds: 2, PeriodSeconds: 10, TimeoutSeconds: 2, SuccessThreshold: 1, FailureThreshold: failures,
		}
	}
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	empty := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: t.meta(TraefikName),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: t.selector()},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: t.labels()},
				Spec: corev1.PodSpec{
					ServiceAccountName:            TraefikName,
					TerminationGracePeriodSeconds: &grace,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsUser: &uid, RunAsGroup: &uid, RunAsNonRoot: &yes,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            TraefikName,
						Image:           TraefikImage + ":" + t.Version,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            t.args(),
						Env:             []corev1.EnvVar{field("POD_NAME", "metadata.name"), field("POD_NAMESPACE", "metadata.namespace"), {Name: "USER", Value: "traefik"}},
						Ports: []corev1.ContainerPort{
							{Name: "http", ContainerPort: traefikWeb, Protocol: corev1.ProtocolTCP},
							{Name: "https", ContainerPort: traefikSecure, Protocol: corev1.ProtocolTCP},
							{Name: "traefik", ContainerPort: traefikPing, Protocol: corev1.ProtocolTCP},
						},
						ReadinessProbe: probe(1),
						LivenessProbe:  probe(3),
						// Up to 5 minutes to answer first, before the
						// liveness probe counts: a loaded or emulated node
						// can take that long to start it.
						StartupProbe: probe(30),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "tmp", MountPath: "/tmp"}},
					}},
					Volumes: []corev1.Volume{empty("data"), empty("tmp")},
				},
			},
		},
	}
}

// args are Traefik's static configuration: no version check or usage
// report (clusters may be offline), the entry points, ping, both
// Kubernetes providers, and the Service whose address Ingresses report.
func (t Traefik) args() []string {
	return []string{
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
		fmt.Sprintf("--entryPoints.web.address=:%d/tcp", traefikWeb),
		fmt.Sprintf("--entryPoints.websecure.address=:%d/tcp", traefikSecure),
		"--entryPoints.websecure.http.tls=true",
		fmt.Sprintf("--entryPoints.traefik.address=:%d/tcp", traefikPing),
		"--ping=true",
		"--providers.kubernetescrd",
		"--providers.kubernetescrd.allowEmptyServices=true",
		"--providers.kubernetesingress",
		"--providers.kubernetesingress.allowEmptyServices=true",
		"--providers.kubernetesingress.ingressendpoint.publishedservice=" + t.Namespace + "/" + t.Service,
		"--log.level=INFO",
	}
}

// service fronts the pods on 80 and 443; PatchIngress sets its type,
// traffic policy and addresses.
func (t Traefik) service() *corev1.Service {
	port := func(name string, p int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString(name)}
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: t.meta(t.Service),
		Spec: corev1.ServiceSpec{
			Selector: t.selector(),
			Ports:    []corev1.ServicePort{port("http", 80), port("https", 443)},
		},
	}
}

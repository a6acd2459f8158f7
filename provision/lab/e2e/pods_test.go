package e2e_test

import "fmt"

// pod is an agnhost netexec pod answering HTTP on 8080, on node when set.
func pod(ns, name, node string, labels string) string {
	nodeName := ""
	if node != "" {
		nodeName = "\n  nodeName: " + node
	}
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {%s}
spec:%s
  terminationGracePeriodSeconds: 1
  containers:
  - name: agnhost
    image: %s
    args: ["netexec", "--http-port=8080"]
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
`, name, ns, labels, nodeName, agnhost)
}

// testPods: a server on each worker, a client on worker-1, their Service
// and Ingress, in namespace e2e, which a policy opens (the global default
// deny covers it).
var testPods = `apiVersion: v1
kind: Namespace
metadata: {name: e2e}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: e2e}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: e2e}
spec:
  selector: {app: server}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: e2e, namespace: e2e}
spec:
  ingressClassName: traefik
  rules:
  - host: e2e.lab
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: server, port: {number: 8080}}}
` + pod("e2e", "server-1", "worker-1", "app: server") +
	pod("e2e", "server-2", "worker-2", "app: server") +
	pod("e2e", "client", "worker-1", "app: client")

// deniedPods: a target in default (kprov's default deny) and in a
// namespace made after up (the global default deny).
var deniedPods = `apiVersion: v1
kind: Namespace
metadata: {name: late}
` + pod("default", "target", "worker-2", "e2e: denied") + pod("late", "target", "worker-2", "e2e: denied")

// allowFrom opens ns's pods to every namespace.
func allowFrom(ns string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-e2e, namespace: %s}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{from: [{namespaceSelector: {}}]}]
`, ns)
}

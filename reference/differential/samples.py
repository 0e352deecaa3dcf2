"""One small valid object per built-in kind kube-apiserver 1.34 serves by default.

Each `Kind` names its endpoint (group, version, resource, scope) and a body without
apiVersion/kind/name, which the corpus adds. Namespaced samples live in the corpus namespace.
The bodies are minimal but complete: what a client must send, nothing the server defaults.
"""

import dataclasses


@dataclasses.dataclass
class Kind:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    body: dict
    name: str = "sample"
    # Whether strategic merge patch applies (built-in kinds: yes; custom resources: no).
    strategic: bool = True
    # Whether this kind is in the smoke slice.
    smoke: bool = False
    # Seconds the get after delete waits first: an object whose deletion a controller of the
    # server finishes (a CRD's cleanup finalizer) races the next request on kube-apiserver as
    # on kubeward; the settled answer is compared (tests/crds.rs bounds kubeward's time).
    settle: float = 0.0
    # Seconds the get after the create waits first: a kind whose controller writes the status
    # of a new object (a CRD's names and Established conditions) races the get, and the update
    # that follows it with the get's resourceVersion, on kube-apiserver as on kubeward (whose
    # controller takes up to a few hundred milliseconds on a loaded machine).
    settle_create: float = 0.0

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def base(self, ns: str) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/namespaces/{ns}/{self.resource}" if self.namespaced else f"{prefix}/{self.resource}"

    def obj(self, ns: str, name: str | None = None, labels: dict | None = None) -> dict:
        meta = {"name": name or self.name, "labels": dict(labels or {"diff": "yes"})}
        if self.namespaced:
            meta["namespace"] = ns
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta, **self.body}


def pod_spec(name: str = "c") -> dict:
    return {"containers": [{"name": name, "image": "registry.k8s.io/pause:3.10"}]}


def template(app: str, restart: str | None = None) -> dict:
    spec = pod_spec()
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def kinds(csr_pem_b64: str) -> list[Kind]:
    """Every sample, in the order the corpus exercises them."""
    selector = lambda app: {"matchLabels": {"app": app}}  # noqa: E731
    return [
        Kind("", "v1", "configmaps", "ConfigMap", True, {"data": {"a": "1"}}, smoke=True),
        Kind("", "v1", "secrets", "Secret", True, {"type": "Opaque", "stringData": {"password": "s3cr3t"}}),
        Kind("", "v1", "serviceaccounts", "ServiceAccount", True, {}),
        Kind("", "v1", "services", "Service", True,
             {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
        Kind("", "v1", "pods", "Pod", True, {"spec": pod_spec()}),
        Kind("", "v1", "replicationcontrollers", "ReplicationController", True,
             {"spec": {"replicas": 1, "selector": {"app": "rc"}, "template": template("rc")}}),
        Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
             {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        Kind("", "v1", "podtemplates", "PodTemplate", True, {"template": template("pt")}),
        Kind("", "v1", "endpoints", "Endpoints", True,
             {"subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]}),
        Kind("", "v1", "events", "Event", True,
             {"involvedObject": {"kind": "Pod", "namespace": "diff", "name": "x"}, "reason": "Tested",
              "message": "a test event", "type": "Normal", "source": {"component": "diff"}}),
        Kind("", "v1", "limitranges", "LimitRange", True,
             {"spec": {"limits": [{"type": "Container", "default": {"cpu": "100m"}}]}}),
        Kind("", "v1", "resourcequotas", "ResourceQuota", True, {"spec": {"hard": {"pods": "100"}}}),
        Kind("", "v1", "namespaces", "Namespace", False, {}, name="diff-sample-ns"),
        Kind("", "v1", "nodes", "Node", False, {"spec": {"podCIDR": "10.244.7.0/24"}}, name="diff-node"),
        Kind("", "v1", "persistentvolumes", "PersistentVolume", False,
             {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                       "hostPath": {"path": "/tmp/diff"}}}),
        Kind("apps", "v1", "deployments", "Deployment", True,
             {"spec": {"replicas": 1, "selector": selector("dep"), "template": template("dep")}}, smoke=True),
        Kind("apps", "v1", "statefulsets", "StatefulSet", True,
             {"spec": {"serviceName": "sts", "selector": selector("sts"), "template": template("sts")}}),
        Kind("apps", "v1", "daemonsets", "DaemonSet", True,
             {"spec": {"selector": selector("ds"), "template": template("ds")}}),
        Kind("apps", "v1", "replicasets", "ReplicaSet", True,
             {"spec": {"replicas": 1, "selector": selector("rs"), "template": template("rs")}}),
        Kind("apps", "v1", "controllerrevisions", "ControllerRevision", True,
             {"data": {"spec": {"x": 1}}, "revision": 1}),
        Kind("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
             {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "dep"},
                       "minReplicas": 1, "maxReplicas": 3,
                       "metrics": [{"type": "Resource", "resource": {
                           "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
        Kind("batch", "v1", "jobs", "Job", True, {"spec": {"template": template("job", "Never")}}),
        Kind("batch", "v1", "cronjobs", "CronJob", True,
             {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template("cj", "OnFailure")}}}}),
        Kind("coordination.k8s.io", "v1", "leases", "Lease", True,
             {"spec": {"holderIdentity": "diff", "leaseDurationSeconds": 15}}),
        Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True,
             {"addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"]}],
              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}),
        Kind("events.k8s.io", "v1", "events", "Event", True,
             {"eventTime": "2025-01-01T00:00:00.000000Z", "reportingController": "diff.example.com/ctl",
              "reportingInstance": "diff-1", "action": "Test", "reason": "Tested", "type": "Normal",
              "regarding": {"kind": "Pod", "namespace": "diff", "name": "x"}, "note": "a test event"},
             name="sample-ev"),
        Kind("networking.k8s.io", "v1", "ingresses", "Ingress", True,
             {"spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}),
        Kind("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False,
             {"spec": {"controller": "diff.example.com/ingress"}}, name="diff-ic"),
        Kind("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True,
             {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        Kind("networking.k8s.io", "v1", "ipaddresses", "IPAddress", False,
             {"spec": {"parentRef": {"group": "", "resource": "services", "namespace": "diff", "name": "x"}}},
             name="10.96.200.200"),
        Kind("networking.k8s.io", "v1", "servicecidrs", "ServiceCIDR", False,
             {"spec": {"cidrs": ["10.250.0.0/24"]}}, name="diff-cidr"),
        Kind("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False, {"handler": "runc"}, name="diff-rc"),
        Kind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True,
             {"spec": {"minAvailable": 1, "selector": selector("pdb")}}),
        Kind("rbac.authorization.k8s.io", "v1", "roles", "Role", True,
             {"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
        Kind("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True,
             {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sample"},
              "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}),
        Kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False,
             {"rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]}, name="diff-cr"),
        Kind("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
             {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
              "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]},
             name="diff-crb"),
        Kind("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, {"value": 1000},
             name="diff-pc"),
        Kind("storage.k8s.io", "v1", "storageclasses", "StorageClass", False,
             {"provisioner": "diff.example.com/csi"}, name="diff-sc"),
        Kind("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, {"spec": {}}, name="diff.example.com"),
        Kind("storage.k8s.io", "v1", "csinodes", "CSINode", False, {"spec": {"drivers": []}}, name="diff-node"),
        Kind("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False,
             {"spec": {"attacher": "diff.example.com", "nodeName": "diff-node",
                       "source": {"persistentVolumeName": "pv"}}}, name="diff-va"),
        Kind("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True,
             {"storageClassName": "diff-sc", "capacity": "1Gi"}),
        Kind("storage.k8s.io", "v1", "volumeattributesclasses", "VolumeAttributesClass", False,
             {"driverName": "diff.example.com", "parameters": {"iops": "100"}}, name="diff-vac"),
        Kind("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
             "ValidatingWebhookConfiguration", False, {"webhooks": []}, name="diff-vwc"),
        Kind("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
             "MutatingWebhookConfiguration", False, {"webhooks": []}, name="diff-mwc"),
        Kind("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
             False, {"spec": {"matchConstraints": {"resourceRules": [
                 {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["leases"]}]},
                 "validations": [{"expression": "true"}]}}, name="diff-vap"),
        Kind("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
             "ValidatingAdmissionPolicyBinding", False,
             {"spec": {"policyName": "diff-vap", "validationActions": ["Deny"]}}, name="diff-vapb"),
        Kind("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration",
             False, {"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
                                                              "limitResponse": {"type": "Reject"}}}},
             name="diff-plc"),
        Kind("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", False,
             {"spec": {"priorityLevelConfiguration": {"name": "global-default"}, "matchingPrecedence": 5000,
                       "rules": [{"subjects": [{"kind": "User", "user": {"name": "bob"}}],
                                  "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                                                     "namespaces": ["*"]}]}]}}, name="diff-fs"),
        Kind("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False,
             {"spec": {"request": csr_pem_b64, "signerName": "kubernetes.io/kube-apiserver-client",
                       "usages": ["client auth"], "expirationSeconds": 3600}}, name="diff-csr"),
        Kind("apiregistration.k8s.io", "v1", "apiservices", "APIService", False,
             {"spec": {"group": "diff.example.com", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                       "versionPriority": 10}}, name="v1alpha1.diff.example.com"),
        Kind("resource.k8s.io", "v1", "deviceclasses", "DeviceClass", False, {"spec": {}}, name="diff-dc"),
        Kind("resource.k8s.io", "v1", "resourceclaims", "ResourceClaim", True,
             {"spec": {"devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "diff-dc"}}]}}}),
        Kind("resource.k8s.io", "v1", "resourceclaimtemplates", "ResourceClaimTemplate", True,
             {"spec": {"spec": {"devices": {"requests": [{"name": "r", "exactly": {"deviceClassName": "diff-dc"}}]}}}}),
        Kind("resource.k8s.io", "v1", "resourceslices", "ResourceSlice", False,
             {"spec": {"driver": "diff.example.com", "pool": {"name": "p", "generation": 1, "resourceSliceCount": 1},
                       "allNodes": True, "devices": [{"name": "d0"}]}}, name="diff-slice"),
        Kind("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
             {"spec": {"group": "diffcrd.example.com", "scope": "Namespaced",
                       "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                       "versions": [{"name": "v1", "served": True, "storage": True,
                                     "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                         "spec": {"type": "object", "properties": {
                                             "size": {"type": "integer"}}}}}}}]}},
             name="gadgets.diffcrd.example.com", settle=0.5, settle_create=1.0),
    ]


def widget_crd() -> dict:
    """A CRD that stays for the custom-resource part of the corpus (status and scale subresources,
    printer columns, defaults, a CEL rule)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.diff.example.com"},
        "spec": {
            "group": "diff.example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"],
                      "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                         "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [
                    {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer", "minimum": 0, "default": 1},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}},
                        "x-kubernetes-validations": [{"rule": "self.replicas <= 10",
                                                      "message": "at most 10 replicas"}]},
                    "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}},
            }],
        },
    }


WIDGET = Kind("diff.example.com", "v1", "widgets", "Widget", True,
              {"spec": {"replicas": 2, "color": "red"}}, name="w1", strategic=False)

//! A Pod that uses the PodSpec fields the former hand-written messages dropped
//! (`ephemeralContainers`, `os`, `hostUsers`, `schedulingGates`, `resourceClaims`, `resources`)
//! and the rest of a realistic spec (env sources, probes, volumes, security contexts,
//! scheduling), in a Pod and in a Deployment. The expected JSON is what Go's encoder writes for
//! the same object; it also survives the server's typed round trip through k8s-openapi's Pod
//! unchanged, so no field is lost on the way to storage either.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::core::v1::*;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{json, Value};

use crate::tests::{roundtrip, s};
use crate::tests_kubectl::gogo_container;

fn named(name: &str) -> Option<ObjectMeta> {
    Some(crate::tests::named_meta(name, "default"))
}

fn local(name: &str) -> Option<LocalObjectReference> {
    Some(LocalObjectReference { name: s(name) })
}

fn quantity(v: &str) -> Quantity {
    Quantity { string: s(v) }
}

fn int(v: i32) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(0), int_val: Some(v), str_val: s("") })
}

fn string(v: &str) -> Option<IntOrString> {
    Some(IntOrString { r#type: Some(1), int_val: Some(0), str_val: s(v) })
}

fn rich_container() -> Container {
    Container {
        command: vec!["nginx".into()],
        args: vec!["-g".into(), "daemon off;".into()],
        ports: vec![ContainerPort {
            name: s("http"),
            container_port: Some(80),
            protocol: s("TCP"),
            host_port: Some(0),
            host_ip: s(""),
        }],
        env: vec![
            EnvVar { name: s("MODE"), value: s("prod"), value_from: None },
            EnvVar {
                name: s("POD"),
                value: s(""),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        api_version: s("v1"),
                        field_path: s("metadata.name"),
                    }),
                    ..Default::default()
                }),
            },
            EnvVar {
                name: s("PASSWORD"),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        local_object_reference: local("db"),
                        key: s("password"),
                        optional: Some(false),
                    }),
                    ..Default::default()
                }),
            },
            EnvVar {
                name: s("MEM"),
                value: None,
                value_from: Some(EnvVarSource {
                    resource_field_ref: Some(ResourceFieldSelector {
                        container_name: s(""),
                        resource: s("limits.memory"),
                        divisor: Some(quantity("1Mi")),
                    }),
                    ..Default::default()
                }),
            },
            EnvVar {
                name: s("CPU"),
                value: None,
                value_from: Some(EnvVarSource {
                    resource_field_ref: Some(ResourceFieldSelector {
                        resource: s("requests.cpu"),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
        ],
        env_from: vec![EnvFromSource {
            prefix: s("CFG_"),
            config_map_ref: Some(ConfigMapEnvSource {
                local_object_reference: local("settings"),
                optional: None,
            }),
            secret_ref: None,
        }],
        resources: Some(ResourceRequirements {
            limits: [("memory".to_owned(), quantity("128Mi"))].into(),
            requests: [("cpu".to_owned(), quantity("100m"))].into(),
            claims: vec![ResourceClaim { name: s("gpu"), request: s("") }],
        }),
        resize_policy: vec![ContainerResizePolicy {
            resource_name: s("memory"),
            restart_policy: s("RestartContainer"),
        }],
        volume_mounts: vec![VolumeMount {
            name: s("cache"),
            read_only: Some(true),
            mount_path: s("/cache"),
            sub_path: s(""),
            ..Default::default()
        }],
        liveness_probe: Some(Probe {
            handler: Some(ProbeHandler {
                http_get: Some(HttpGetAction {
                    path: s("/healthz"),
                    port: string("http"),
                    scheme: s("HTTP"),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            initial_delay_seconds: Some(5),
            timeout_seconds: Some(0),
            period_seconds: Some(10),
            ..Default::default()
        }),
        readiness_probe: Some(Probe {
            handler: Some(ProbeHandler {
                tcp_socket: Some(TcpSocketAction { port: int(80), host: s("") }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction { command: vec!["sleep".into(), "5".into()] }),
                ..Default::default()
            }),
            post_start: None,
            stop_signal: None,
        }),
        image_pull_policy: s("IfNotPresent"),
        security_context: Some(SecurityContext {
            capabilities: Some(Capabilities { add: vec![], drop: vec!["ALL".into()] }),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            allow_privilege_escalation: Some(false),
            seccomp_profile: Some(SeccompProfile { r#type: s("RuntimeDefault"), localhost_profile: None }),
            ..Default::default()
        }),
        stdin: Some(true),
        ..gogo_container("app", "nginx:1.27")
    }
}

fn rich_container_json() -> Value {
    json!({
        "name": "app", "image": "nginx:1.27", "command": ["nginx"], "args": ["-g", "daemon off;"],
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "settings"}}],
        "env": [
            {"name": "MODE", "value": "prod"},
            {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": false}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            // A non-pointer Quantity is always written: the zero one as "0".
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "0"}}},
        ],
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}, "claims": [{"name": "gpu"}]},
        "resizePolicy": [{"resourceName": "memory", "restartPolicy": "RestartContainer"}],
        "volumeMounts": [{"name": "cache", "readOnly": true, "mountPath": "/cache"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                          "initialDelaySeconds": 5, "periodSeconds": 10},
        "readinessProbe": {"tcpSocket": {"port": 80}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"capabilities": {"drop": ["ALL"]}, "runAsUser": 0, "runAsNonRoot": false,
                            "allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"}},
        "stdin": true,
    })
}

fn rich_pod_spec() -> PodSpec {
    PodSpec {
        volumes: vec![
            Volume {
                name: s("cache"),
                volume_source: Some(VolumeSource {
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium: s(""),
                        size_limit: Some(quantity("1Gi")),
                    }),
                    ..Default::default()
                }),
            },
            Volume {
                name: s("cfg"),
                volume_source: Some(VolumeSource {
                    config_map: Some(ConfigMapVolumeSource {
                        local_object_reference: local("settings"),
                        items: vec![KeyToPath { key: s("a"), path: s("a.conf"), mode: None }],
                        default_mode: Some(420),
                        optional: None,
                    }),
                    ..Default::default()
                }),
            },
            Volume {
                name: s("token"),
                volume_source: Some(VolumeSource {
                    projected: Some(ProjectedVolumeSource {
                        sources: vec![VolumeProjection {
                            service_account_token: Some(ServiceAccountTokenProjection {
                                audience: s(""),
                                expiration_seconds: Some(3607),
                                path: s("token"),
                            }),
                            ..Default::default()
                        }],
                        default_mode: Some(420),
                    }),
                    ..Default::default()
                }),
            },
            Volume {
                name: s("data"),
                volume_source: Some(VolumeSource {
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: s("data"),
                        read_only: Some(false),
                    }),
                    ..Default::default()
                }),
            },
        ],
        init_containers: vec![Container {
            restart_policy: s("Always"),
            ..gogo_container("sidecar", "envoy")
        }],
        containers: vec![rich_container()],
        ephemeral_containers: vec![EphemeralContainer {
            ephemeral_container_common: Some(EphemeralContainerCommon {
                name: s("debugger"),
                image: s("busybox"),
                stdin: Some(true),
                tty: Some(true),
                termination_message_policy: s("File"),
                ..Default::default()
            }),
            target_container_name: s("app"),
        }],
        restart_policy: s("Always"),
        termination_grace_period_seconds: Some(0),
        dns_policy: s("ClusterFirst"),
        node_selector: [("disk".to_owned(), "ssd".to_owned())].into(),
        service_account_name: s("robot"),
        automount_service_account_token: Some(false),
        host_network: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(1000),
            supplemental_groups: vec![2000, 3000],
            fs_group: Some(2000),
            sysctls: vec![Sysctl { name: s("net.core.somaxconn"), value: s("1024") }],
            ..Default::default()
        }),
        image_pull_secrets: vec![LocalObjectReference { name: s("registry") }],
        affinity: Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: vec![NodeSelectorTerm {
                        match_expressions: vec![NodeSelectorRequirement {
                            key: s("zone"),
                            operator: s("In"),
                            values: vec!["a".into()],
                        }],
                        match_fields: vec![],
                    }],
                }),
                preferred_during_scheduling_ignored_during_execution: vec![],
            }),
            pod_anti_affinity: Some(PodAntiAffinity {
                required_during_scheduling_ignored_during_execution: vec![],
                preferred_during_scheduling_ignored_during_execution: vec![WeightedPodAffinityTerm {
                    weight: Some(100),
                    pod_affinity_term: Some(PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: [("app".to_owned(), "web".to_owned())].into(),
                            match_expressions: vec![],
                        }),
                        topology_key: s("kubernetes.io/hostname"),
                        ..Default::default()
                    }),
                }],
            }),
            pod_affinity: None,
        }),
        tolerations: vec![Toleration {
            key: s("node.kubernetes.io/not-ready"),
            operator: s("Exists"),
            value: s(""),
            effect: s("NoExecute"),
            toleration_seconds: Some(300),
        }],
        priority_class_name: s("high"),
        enable_service_links: Some(true),
        topology_spread_constraints: vec![TopologySpreadConstraint {
            max_skew: Some(1),
            topology_key: s("zone"),
            when_unsatisfiable: s("DoNotSchedule"),
            ..Default::default()
        }],
        os: Some(PodOs { name: s("linux") }),
        host_users: Some(false),
        scheduling_gates: vec![PodSchedulingGate { name: s("example.com/quota") }],
        resource_claims: vec![
            PodResourceClaim {
                name: s("gpu"),
                resource_claim_name: s("gpu-claim"),
                resource_claim_template_name: None,
            },
            PodResourceClaim {
                name: s("scratch"),
                resource_claim_name: None,
                resource_claim_template_name: s("scratch-template"),
            },
        ],
        resources: Some(ResourceRequirements {
            limits: [("cpu".to_owned(), quantity("2")), ("memory".to_owned(), quantity("1Gi"))].into(),
            requests: [("cpu".to_owned(), quantity("500m"))].into(),
            claims: vec![],
        }),
        ..Default::default()
    }
}

fn rich_pod_spec_json() -> Value {
    json!({
        "volumes": [
            {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "cfg", "configMap": {"name": "settings", "items": [{"key": "a", "path": "a.conf"}], "defaultMode": 420}},
            {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}], "defaultMode": 420}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        ],
        "initContainers": [{"name": "sidecar", "image": "envoy", "resources": {}, "restartPolicy": "Always"}],
        "containers": [rich_container_json()],
        "ephemeralContainers": [{"name": "debugger", "image": "busybox", "resources": {},
                                 "terminationMessagePolicy": "File", "stdin": true, "tty": true,
                                 "targetContainerName": "app"}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 0, "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "robot", "automountServiceAccountToken": false,
        "securityContext": {"runAsUser": 1000, "supplementalGroups": [2000, 3000], "fsGroup": 2000,
                            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]},
        "imagePullSecrets": [{"name": "registry"}],
        "affinity": {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]},
        },
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
        "priorityClassName": "high", "enableServiceLinks": true,
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
        "os": {"name": "linux"},
        "hostUsers": false,
        "schedulingGates": [{"name": "example.com/quota"}],
        "resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu-claim"},
                           {"name": "scratch", "resourceClaimTemplateName": "scratch-template"}],
        "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
    })
}

/// The JSON through k8s-openapi's Pod and back, as the server's typed check does (it drops
/// nulls; Go's JSON here has none).
fn through_k8s_openapi(pod: &Value) -> Value {
    let typed: k8s_openapi::api::core::v1::Pod = serde_json::from_value(pod.clone()).expect("a Pod");
    serde_json::to_value(typed).expect("serializes")
}

#[test]
fn pod_keeps_every_field_of_a_rich_spec() {
    let pod = Pod {
        metadata: named("web"),
        spec: Some(rich_pod_spec()),
        status: Some(PodStatus { phase: s(""), ..Default::default() }),
    };
    let want = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "web", "namespace": "default"},
                      "spec": rich_pod_spec_json(), "status": {}});
    let got = roundtrip("v1", "Pod", &pod);
    assert_eq!(got, want);
    for field in ["ephemeralContainers", "os", "hostUsers", "schedulingGates", "resourceClaims", "resources"]
    {
        assert_eq!(got["spec"][field], want["spec"][field], "{field}");
    }
    assert_eq!(through_k8s_openapi(&got), want, "the server's typed round trip keeps every field");
}

#[test]
fn deployment_strategy_and_pointers() {
    let deployment = apps::Deployment {
        metadata: named("web"),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(3),
            selector: Some(LabelSelector {
                match_labels: Default::default(),
                match_expressions: vec![LabelSelectorRequirement {
                    key: s("tier"),
                    operator: s("NotIn"),
                    values: vec!["db".into()],
                }],
            }),
            template: Some(PodTemplateSpec { metadata: None, spec: Some(rich_pod_spec()) }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s("RollingUpdate"),
                rolling_update: Some(apps::RollingUpdateDeployment {
                    max_unavailable: int(0),
                    max_surge: string("25%"),
                }),
            }),
            min_ready_seconds: Some(10),
            revision_history_limit: Some(0),
            paused: Some(true),
            progress_deadline_seconds: Some(600),
        }),
        status: None,
    };
    assert_eq!(
        roundtrip("apps/v1", "Deployment", &deployment)["spec"],
        json!({"replicas": 3, "selector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
               "template": {"metadata": {}, "spec": rich_pod_spec_json()},
               "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
               "minReadySeconds": 10, "revisionHistoryLimit": 0, "paused": true, "progressDeadlineSeconds": 600})
    );
}

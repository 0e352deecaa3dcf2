//! Decoding tests for the Node, Event, Lease, Endpoints, Service, Job and CronJob fields
//! kubectl's recorded bodies leave empty. The expected JSON is what Go's encoder writes for the
//! same object.

use prost::Message;
use serde_json::{json, Value};

use super::*;
use crate::cluster::*;
use crate::core::ObjectReference;
use crate::meta::*;
use crate::pod::*;
use crate::service::*;
use crate::values::{IntOrString, Quantity};
use crate::workloads::*;

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn named(name: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: s(name), namespace: s("default"), ..Default::default() })
}

fn roundtrip<T: Message>(api_version: &str, kind: &str, msg: &T) -> Value {
    decode_to_json(&Unknown::envelope(api_version, kind, msg.encode_to_vec())).expect("decodes")
}

#[test]
fn job_and_cron_job_specs() {
    let spec = JobSpec {
        parallelism: Some(2),
        completions: Some(4),
        backoff_limit: Some(0),
        ttl_seconds_after_finished: Some(100),
        completion_mode: s("Indexed"),
        suspend: Some(false),
        template: Some(PodTemplateSpec { metadata: None, spec: None }),
        ..Default::default()
    };
    let cron = CronJob {
        metadata: named("nightly"),
        spec: Some(CronJobSpec {
            schedule: s("0 3 * * *"),
            time_zone: s("Etc/UTC"),
            concurrency_policy: s("Forbid"),
            suspend: Some(true),
            job_template: Some(JobTemplateSpec { metadata: None, spec: Some(spec) }),
            successful_jobs_history_limit: Some(1),
            ..Default::default()
        }),
        status: Some(CronJobStatus {
            active: vec![ObjectReference { kind: s("Job"), name: s("nightly-1"), ..Default::default() }],
            last_schedule_time: Some(Time { seconds: Some(1_199_149_261), nanos: Some(0) }),
            last_successful_time: None,
        }),
    };
    assert_eq!(
        roundtrip("batch/v1", "CronJob", &cron),
        json!({"kind": "CronJob", "apiVersion": "batch/v1", "metadata": {"name": "nightly", "namespace": "default"},
               "spec": {"schedule": "0 3 * * *", "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid", "suspend": true,
                        "jobTemplate": {"spec": {"parallelism": 2, "completions": 4, "backoffLimit": 0,
                                                 "template": {}, "ttlSecondsAfterFinished": 100,
                                                 "completionMode": "Indexed", "suspend": false}},
                        "successfulJobsHistoryLimit": 1},
               "status": {"active": [{"kind": "Job", "name": "nightly-1"}], "lastScheduleTime": "2008-01-01T01:01:01Z"}})
    );
    let job = Job {
        metadata: named("once"),
        spec: None,
        status: Some(JobStatus { succeeded: Some(1), ready: Some(0), ..Default::default() }),
    };
    assert_eq!(roundtrip("batch/v1", "Job", &job)["status"], json!({"succeeded": 1, "ready": 0}));
}

#[test]
fn lease_uses_micro_time() {
    let lease = Lease {
        metadata: Some(ObjectMeta {
            name: s("node-1"),
            namespace: s("kube-node-lease"),
            ..Default::default()
        }),
        spec: Some(LeaseSpec {
            holder_identity: s("node-1"),
            lease_duration_seconds: Some(40),
            renew_time: Some(MicroTime { seconds: Some(1_199_149_261), nanos: Some(5_000) }),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    };
    assert_eq!(
        roundtrip("coordination.k8s.io/v1", "Lease", &lease),
        json!({"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
               "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
               "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                        "renewTime": "2008-01-01T01:01:01.000005Z", "leaseTransitions": 0}})
    );
}

#[test]
fn node_registration() {
    let node = Node {
        metadata: Some(ObjectMeta { name: s("node-1"), ..Default::default() }),
        spec: Some(NodeSpec {
            pod_cidr: s("10.0.0.0/24"),
            pod_cidrs: vec!["10.0.0.0/24".into()],
            unschedulable: Some(false),
            taints: vec![Taint { key: s("k"), value: s(""), effect: s("NoSchedule"), time_added: None }],
            ..Default::default()
        }),
        status: Some(NodeStatus {
            capacity: [("cpu".to_owned(), Quantity::new("4")), ("pods".to_owned(), Quantity::new("110"))]
                .into(),
            conditions: vec![NodeCondition {
                r#type: s("Ready"),
                status: s("True"),
                last_heartbeat_time: Some(Time { seconds: Some(1_199_149_261), nanos: Some(0) }),
                last_transition_time: Some(Time::default()),
                reason: s("KubeletReady"),
                message: s(""),
            }],
            addresses: vec![NodeAddress { r#type: s("InternalIP"), address: s("192.0.2.10") }],
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: Some(10250) }),
            }),
            node_info: Some(NodeSystemInfo {
                kubelet_version: s("v1.33.0"),
                architecture: s("amd64"),
                ..Default::default()
            }),
            images: vec![ContainerImage { names: vec!["nginx".into()], size_bytes: Some(100) }],
            ..Default::default()
        }),
    };
    assert_eq!(
        roundtrip("v1", "Node", &node),
        json!({"kind": "Node", "apiVersion": "v1", "metadata": {"name": "node-1"},
               "spec": {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"], "taints": [{"key": "k", "effect": "NoSchedule"}]},
               "status": {"capacity": {"cpu": "4", "pods": "110"},
                          "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2008-01-01T01:01:01Z", "reason": "KubeletReady"}],
                          "addresses": [{"type": "InternalIP", "address": "192.0.2.10"}],
                          "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                          "nodeInfo": {"kubeletVersion": "v1.33.0", "architecture": "amd64"},
                          "images": [{"names": ["nginx"], "sizeBytes": 100}]}})
    );
}

#[test]
fn event_and_endpoints() {
    let event = Event {
        metadata: named("web.1"),
        involved_object: Some(ObjectReference { kind: s("Pod"), name: s("web"), ..Default::default() }),
        reason: s("Pulled"),
        message: s("pulled"),
        source: Some(EventSource { component: s("kubelet"), host: s("") }),
        first_timestamp: Some(Time::default()),
        count: Some(2),
        r#type: s("Normal"),
        event_time: Some(MicroTime { seconds: Some(1_199_149_261), nanos: Some(0) }),
        series: Some(EventSeries {
            count: Some(2),
            last_observed_time: Some(MicroTime { seconds: Some(1_199_149_262), nanos: Some(0) }),
        }),
        reporting_component: s(""),
        ..Default::default()
    };
    assert_eq!(
        roundtrip("v1", "Event", &event),
        json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "web.1", "namespace": "default"},
               "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Pulled", "message": "pulled",
               "source": {"component": "kubelet"}, "count": 2, "type": "Normal",
               "eventTime": "2008-01-01T01:01:01.000000Z",
               "series": {"count": 2, "lastObservedTime": "2008-01-01T01:01:02.000000Z"}})
    );
    let endpoints = Endpoints {
        metadata: named("web"),
        subsets: vec![EndpointSubset {
            addresses: vec![EndpointAddress {
                ip: s("10.0.0.5"),
                target_ref: Some(ObjectReference { kind: s("Pod"), name: s("web-1"), ..Default::default() }),
                hostname: s(""),
                node_name: s("node-1"),
            }],
            not_ready_addresses: vec![],
            ports: vec![EndpointPort {
                name: s("http"),
                port: Some(80),
                protocol: s("TCP"),
                app_protocol: None,
            }],
        }],
    };
    assert_eq!(
        roundtrip("v1", "Endpoints", &endpoints)["subsets"],
        json!([{"addresses": [{"ip": "10.0.0.5", "nodeName": "node-1", "targetRef": {"kind": "Pod", "name": "web-1"}}],
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}])
    );
}

#[test]
fn service_with_session_affinity_and_external_ips() {
    let service = Service {
        metadata: named("lb"),
        spec: Some(ServiceSpec {
            ports: vec![ServicePort {
                name: s(""),
                protocol: s("UDP"),
                port: Some(53),
                target_port: Some(IntOrString::default()),
                node_port: Some(30053),
                app_protocol: s("dns"),
            }],
            r#type: s("LoadBalancer"),
            external_ips: vec!["192.0.2.1".into()],
            session_affinity: s("ClientIP"),
            session_affinity_config: Some(SessionAffinityConfig {
                client_ip: Some(ClientIpConfig { timeout_seconds: Some(10800) }),
            }),
            ip_family_policy: s("SingleStack"),
            allocate_load_balancer_node_ports: Some(false),
            ..Default::default()
        }),
        status: Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: vec![LoadBalancerIngress { ip: s("198.51.100.7"), ..Default::default() }],
            }),
        }),
    };
    assert_eq!(
        roundtrip("v1", "Service", &service),
        json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "lb", "namespace": "default"},
               "spec": {"ports": [{"protocol": "UDP", "appProtocol": "dns", "port": 53, "targetPort": 0, "nodePort": 30053}],
                        "type": "LoadBalancer", "externalIPs": ["192.0.2.1"], "sessionAffinity": "ClientIP",
                        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                        "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": false},
               "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}}})
    );
}

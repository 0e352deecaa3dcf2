"""The official Python client against the built-in kinds beyond the core ones: for each API
group, create, read, list and the Table columns kubectl prints; the 422s kube answers for a
CronJob with an unparsable schedule, a Job with an invalid template and a change of a mandatory
priority level; what every cluster starts with (system PriorityClasses, local APIServices,
ComponentStatus, the mandatory FlowSchemas and PriorityLevelConfigurations); a Service's status.

Usage: kinds.py KUBECONFIG NAMESPACE
Prints one line per check; exits non-zero (with the reason) on the first failure.
"""

import json
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def meta(name, labels=None):
    return client.V1ObjectMeta(name=name, labels=labels)


def pod_template(labels, restart="Always"):
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=labels),
        spec=client.V1PodSpec(
            restart_policy=restart,
            containers=[client.V1Container(name="c", image="busybox:1.36", command=["sleep", "1"])],
        ),
    )


def columns(api_client, path):
    """The column names of the Table the server answers for a list at `path`."""
    method, url, headers, _, _ = api_client.param_serialize(
        "GET", path, header_params={"Accept": TABLE}, auth_settings=["BearerToken"]
    )
    response = api_client.call_api(method, url, header_params=headers)
    response.read()
    data = json.loads(response.data)
    check(data.get("kind") == "Table", f"{path}: not a Table: {data}")
    return [c["name"] for c in data["columnDefinitions"]], data["rows"]


def expect_invalid(call, field, contains):
    try:
        call()
    except ApiException as e:
        body = json.loads(e.body)
        causes = body.get("details", {}).get("causes", [])
        check(e.status == 422 and body.get("reason") == "Invalid", f"not a 422 Invalid: {e.status} {e.body}")
        check(any(c.get("field") == field and contains in c.get("message", "") for c in causes), f"causes: {causes}")
        return body["message"]
    raise Failure(f"no 422 for {field}")


def apps(api_client, ns):
    apps = client.AppsV1Api(api_client)
    sel = client.V1LabelSelector(match_labels={"app": "web"})
    apps.create_namespaced_daemon_set(
        ns, client.V1DaemonSet(metadata=meta("ds"), spec=client.V1DaemonSetSpec(selector=sel, template=pod_template({"app": "web"})))
    )
    apps.create_namespaced_stateful_set(
        ns,
        client.V1StatefulSet(
            metadata=meta("sts"),
            spec=client.V1StatefulSetSpec(service_name="sts", replicas=2, selector=sel, template=pod_template({"app": "web"})),
        ),
    )
    apps.create_namespaced_replica_set(
        ns, client.V1ReplicaSet(metadata=meta("rs"), spec=client.V1ReplicaSetSpec(selector=sel, template=pod_template({"app": "web"})))
    )
    apps.create_namespaced_controller_revision(ns, client.V1ControllerRevision(metadata=meta("rev"), revision=1, data={"a": 1}))
    ds = apps.read_namespaced_daemon_set("ds", ns)
    check(ds.spec.update_strategy.type == "RollingUpdate", f"daemonset defaults: {ds.spec.update_strategy}")
    check(ds.status.number_ready == 0, f"daemonset status: {ds.status}")
    sts = apps.read_namespaced_stateful_set("sts", ns)
    check(sts.spec.pod_management_policy == "OrderedReady" and sts.metadata.generation == 1, f"statefulset: {sts.spec}")
    check([r.metadata.name for r in apps.list_namespaced_replica_set(ns).items] == ["rs"], "replicaset list")
    check(apps.read_namespaced_controller_revision("rev", ns).revision == 1, "controllerrevision read")
    cols, rows = columns(api_client, f"/apis/apps/v1/namespaces/{ns}/daemonsets")
    check(cols[:8] == ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"], f"daemonset columns {cols}")
    check(rows[0]["cells"][0] == "ds", f"daemonset row {rows}")
    cols, rows = columns(api_client, f"/apis/apps/v1/namespaces/{ns}/statefulsets")
    check(cols[:3] == ["Name", "Ready", "Age"] and rows[0]["cells"][1] == "0/2", f"statefulset table {cols} {rows}")
    print("apps: daemonset statefulset replicaset controllerrevision")


def batch(api_client, ns):
    batch = client.BatchV1Api(api_client)
    job = client.V1Job(metadata=meta("pi"), spec=client.V1JobSpec(template=pod_template({}, restart="Never")))
    batch.create_namespaced_job(ns, job)
    read = batch.read_namespaced_job("pi", ns)
    check(read.spec.selector.match_labels.get("batch.kubernetes.io/controller-uid") == read.metadata.uid, f"job selector {read.spec.selector}")
    check(read.spec.backoff_limit == 6 and read.spec.completions == 1, f"job defaults {read.spec}")
    cron = client.V1CronJob(
        metadata=meta("tick"),
        spec=client.V1CronJobSpec(
            schedule="*/5 * * * *",
            job_template=client.V1JobTemplateSpec(spec=client.V1JobSpec(template=pod_template({}, restart="OnFailure"))),
        ),
    )
    batch.create_namespaced_cron_job(ns, cron)
    check(batch.read_namespaced_cron_job("tick", ns).spec.concurrency_policy == "Allow", "cronjob defaults")
    cols, rows = columns(api_client, f"/apis/batch/v1/namespaces/{ns}/cronjobs")
    check(cols[:7] == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age"], f"cronjob columns {cols}")
    check(rows[0]["cells"][1] == "*/5 * * * *", f"cronjob row {rows}")
    cols, _ = columns(api_client, f"/apis/batch/v1/namespaces/{ns}/jobs")
    check(cols[:5] == ["Name", "Status", "Completions", "Duration", "Age"], f"job columns {cols}")

    bad = client.V1CronJob(metadata=meta("bad"), spec=client.V1CronJobSpec(schedule="every day", job_template=cron.spec.job_template))
    msg = expect_invalid(lambda: batch.create_namespaced_cron_job(ns, bad), "spec.schedule", "expected exactly 5 fields, found 2")
    print("cronjob 422: " + msg)
    bad_job = client.V1Job(metadata=meta("badjob"), spec=client.V1JobSpec(template=pod_template({}, restart="Always")))
    msg = expect_invalid(lambda: batch.create_namespaced_job(ns, bad_job), "spec.template.spec.restartPolicy", 'supported values: "OnFailure", "Never"')
    print("job 422: " + msg)
    try:
        batch.read_namespaced_cron_job("bad", ns)
        raise Failure("an invalid CronJob was stored")
    except ApiException as e:
        check(e.status == 404, f"read invalid cronjob: {e.status}")
    print("batch: job cronjob")


def core(api_client, ns):
    core = client.CoreV1Api(api_client)
    rc = client.V1ReplicationController(
        metadata=meta("rc"), spec=client.V1ReplicationControllerSpec(replicas=2, template=pod_template({"app": "rc"}))
    )
    core.create_namespaced_replication_controller(ns, rc)
    check(core.read_namespaced_replication_controller("rc", ns).spec.selector == {"app": "rc"}, "rc selector default")
    core.create_persistent_volume(
        client.V1PersistentVolume(
            metadata=meta("pv-" + ns),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": "1Gi"}, access_modes=["ReadWriteOnce"], host_path=client.V1HostPathVolumeSource(path="/tmp/x")
            ),
        )
    )
    pv = core.read_persistent_volume("pv-" + ns)
    check(pv.status.phase == "Pending" and pv.spec.persistent_volume_reclaim_policy == "Retain", f"pv {pv.status} {pv.spec}")
    core.create_namespaced_persistent_volume_claim(
        ns,
        client.V1PersistentVolumeClaim(
            metadata=meta("data"),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"})
            ),
        ),
    )
    check(core.read_namespaced_persistent_volume_claim("data", ns).status.phase == "Pending", "pvc status")
    core.create_namespaced_pod_template(ns, client.V1PodTemplate(metadata=meta("tmpl"), template=pod_template({"app": "t"})))
    check(core.read_namespaced_pod_template("tmpl", ns).template.metadata.labels == {"app": "t"}, "podtemplate read")
    cols, _ = columns(api_client, f"/api/v1/namespaces/{ns}/persistentvolumeclaims")
    check(cols[:8] == ["Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age"], f"pvc columns {cols}")
    statuses = {c.metadata.name: c.conditions[0].status for c in core.list_component_status().items}
    check(sorted(statuses) == ["controller-manager", "etcd-0", "scheduler"], f"componentstatuses {statuses}")
    check(statuses["etcd-0"] == "True", f"componentstatuses {statuses}")
    svc = core.create_namespaced_service(
        ns, client.V1Service(metadata=meta("web"), spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]))
    )
    check(svc.status is not None and svc.status.load_balancer is not None, f"service status {svc.status}")
    check(core.read_namespaced_service_status("web", ns).status.load_balancer.ingress is None, "service status read")
    print("core: replicationcontroller persistentvolume persistentvolumeclaim podtemplate componentstatus service-status")


def events(api_client, ns):
    ev = client.EventsV1Api(api_client)
    ev.create_namespaced_event(
        ns,
        client.EventsV1Event(
            metadata=meta("started"),
            event_time="2026-01-01T00:00:00.000000Z",
            reporting_controller="kubeward.io/python",
            reporting_instance="py-1",
            action="Starting",
            reason="Started",
            type="Normal",
            note="from events.k8s.io",
            regarding=client.V1ObjectReference(kind="Pod", name="p", namespace=ns),
        ),
    )
    as_core = client.CoreV1Api(api_client).read_namespaced_event("started", ns)
    check(as_core.message == "from events.k8s.io" and as_core.involved_object.name == "p", f"core view {as_core}")
    listed = ev.list_namespaced_event(ns, field_selector="regarding.name=p")
    check([e.note for e in listed.items] == ["from events.k8s.io"], f"events.k8s.io list {listed.items}")
    print("events: events.k8s.io and core v1 share storage")


def groups(api_client, ns):
    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(
        ns,
        client.V1PodDisruptionBudget(
            metadata=meta("pdb"), spec=client.V1PodDisruptionBudgetSpec(min_available=1, selector=client.V1LabelSelector(match_labels={"a": "b"}))
        ),
    )
    pdb = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget_status("pdb", ns)
    check(pdb.status.disruptions_allowed == 0, f"pdb status {pdb.status}")
    net = client.NetworkingV1Api(api_client)
    net.create_namespaced_network_policy(
        ns, client.V1NetworkPolicy(metadata=meta("deny"), spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector()))
    )
    check(net.read_namespaced_network_policy("deny", ns).spec.policy_types == ["Ingress"], "networkpolicy defaults")
    net.create_ingress_class(client.V1IngressClass(metadata=meta("cls-" + ns), spec=client.V1IngressClassSpec(controller="example.com/ingress")))
    rule = client.V1IngressRule(
        host="a.example.com",
        http=client.V1HTTPIngressRuleValue(
            paths=[
                client.V1HTTPIngressPath(
                    path="/",
                    path_type="Prefix",
                    backend=client.V1IngressBackend(service=client.V1IngressServiceBackend(name="web", port=client.V1ServiceBackendPort(number=80))),
                )
            ]
        ),
    )
    net.create_namespaced_ingress(ns, client.V1Ingress(metadata=meta("ing"), spec=client.V1IngressSpec(ingress_class_name="cls-" + ns, rules=[rule])))
    cols, rows = columns(api_client, f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses")
    check(cols == ["Name", "Class", "Hosts", "Address", "Ports", "Age"] and rows[0]["cells"][2] == "a.example.com", f"ingress table {cols} {rows}")

    st = client.StorageV1Api(api_client)
    st.create_storage_class(client.V1StorageClass(metadata=meta("sc-" + ns), provisioner="example.com/disk"))
    check(st.read_storage_class("sc-" + ns).reclaim_policy == "Delete", "storageclass defaults")
    st.create_csi_driver(client.V1CSIDriver(metadata=meta("csi." + ns + ".example.com"), spec=client.V1CSIDriverSpec()))
    check(st.read_csi_driver("csi." + ns + ".example.com").spec.attach_required is True, "csidriver defaults")
    st.create_csi_node(client.V1CSINode(metadata=meta("node-" + ns), spec=client.V1CSINodeSpec(drivers=[client.V1CSINodeDriver(name="d", node_id="n")])))
    st.create_volume_attachment(
        client.V1VolumeAttachment(
            metadata=meta("va-" + ns),
            spec=client.V1VolumeAttachmentSpec(attacher="d", node_name="n", source=client.V1VolumeAttachmentSource(persistent_volume_name="pv-" + ns)),
        )
    )
    check(st.read_volume_attachment("va-" + ns).spec.node_name == "n", "volumeattachment read")

    sched = client.SchedulingV1Api(api_client)
    values = {p.metadata.name: p.value for p in sched.list_priority_class().items}
    check(values.get("system-cluster-critical") == 2000000000 and values.get("system-node-critical") == 2000001000, f"system priority classes {values}")
    sched.create_priority_class(client.V1PriorityClass(metadata=meta("pc-" + ns), value=1000))
    check(sched.read_priority_class("pc-" + ns).preemption_policy == "PreemptLowerPriority", "priorityclass defaults")

    client.NodeV1Api(api_client).create_runtime_class(client.V1RuntimeClass(metadata=meta("rc-" + ns), handler="runsc"))
    cols, _ = columns(api_client, "/apis/node.k8s.io/v1/runtimeclasses")
    check(cols == ["Name", "Handler", "Age"], f"runtimeclass columns {cols}")

    disc = client.DiscoveryV1Api(api_client)
    disc.create_namespaced_endpoint_slice(
        ns,
        client.V1EndpointSlice(
            metadata=meta("web-1"), address_type="IPv4", endpoints=[client.V1Endpoint(addresses=["10.0.0.1"])], ports=[client.DiscoveryV1EndpointPort(port=80)]
        ),
    )
    check(disc.read_namespaced_endpoint_slice("web-1", ns).ports[0].protocol == "TCP", "endpointslice defaults")

    reg = client.ApiregistrationV1Api(api_client)
    local = {a.metadata.name: a for a in reg.list_api_service().items}
    apps_v1 = local.get("v1.apps")
    check(apps_v1 is not None and apps_v1.spec.service is None and apps_v1.spec.group_priority_minimum == 17800, f"v1.apps {apps_v1}")
    check(apps_v1.status.conditions[0].reason == "Local", f"v1.apps status {apps_v1.status}")
    name = "v1beta1." + ns + ".example.com"
    reg.create_api_service(
        client.V1APIService(
            metadata=meta(name),
            spec=client.V1APIServiceSpec(
                group=ns + ".example.com",
                version="v1beta1",
                group_priority_minimum=100,
                version_priority=10,
                insecure_skip_tls_verify=True,
                service=client.ApiregistrationV1ServiceReference(name="api", namespace=ns),
            ),
        )
    )
    check(reg.read_api_service(name).status.conditions[0].status == "False", "aggregated apiservice is not proxied")
    print("groups: policy networking storage scheduling node discovery apiregistration")


def flowcontrol(api_client, ns):
    fc = client.FlowcontrolApiserverV1Api(api_client)
    levels = {p.metadata.name: p for p in fc.list_priority_level_configuration().items}
    check(levels.get("exempt") is not None and levels["exempt"].spec.type == "Exempt", f"exempt level {levels.keys()}")
    catch_all = levels.get("catch-all")
    check(catch_all is not None and catch_all.spec.limited.nominal_concurrency_shares == 5, f"catch-all level {catch_all}")
    schemas = {f.metadata.name: f for f in fc.list_flow_schema().items}
    check(schemas.get("exempt") is not None and schemas["exempt"].spec.matching_precedence == 1, f"exempt schema {schemas.keys()}")
    check(schemas.get("catch-all") is not None and schemas["catch-all"].spec.distinguisher_method.type == "ByUser", "catch-all schema")

    queuing = client.V1LimitResponse(type="Queue", queuing=client.V1QueuingConfiguration())
    fc.create_priority_level_configuration(
        client.V1PriorityLevelConfiguration(
            metadata=meta("pl-" + ns),
            spec=client.V1PriorityLevelConfigurationSpec(type="Limited", limited=client.V1LimitedPriorityLevelConfiguration(limit_response=queuing)),
        )
    )
    limited = fc.read_priority_level_configuration("pl-" + ns).spec.limited
    q = limited.limit_response.queuing
    check((limited.nominal_concurrency_shares, q.queues, q.hand_size, q.queue_length_limit) == (30, 64, 8, 50), f"priority level defaults {limited}")
    rule = client.V1PolicyRulesWithSubjects(
        subjects=[client.FlowcontrolV1Subject(kind="Group", group=client.V1GroupSubject(name="devs"))],
        resource_rules=[client.V1ResourcePolicyRule(verbs=["get"], api_groups=[""], resources=["pods"], namespaces=[ns])],
    )
    spec = client.V1FlowSchemaSpec(priority_level_configuration=client.V1PriorityLevelConfigurationReference(name="pl-" + ns), rules=[rule])
    fc.create_flow_schema(client.V1FlowSchema(metadata=meta("fs-" + ns), spec=spec))
    check(fc.read_flow_schema("fs-" + ns).spec.matching_precedence == 1000, "flowschema defaults")
    cols, rows = columns(api_client, "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas")
    check(cols == ["Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"], f"flowschema columns {cols}")
    check([r["cells"][0] for r in rows][:1] == ["exempt"] and rows[-1]["cells"][0] == "catch-all", f"flowschema order {rows}")
    cols, _ = columns(api_client, "/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations")
    check(cols == ["Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit", "Age"], f"priority level columns {cols}")
    message = expect_invalid(
        lambda: fc.patch_priority_level_configuration("catch-all", {"spec": {"limited": {"nominalConcurrencyShares": 50}}}),
        "spec",
        "must equal the fixed value",
    )
    print(f"catch-all 422: {message.split(': ')[0]}")
    print("flowcontrol: flowschema prioritylevelconfiguration")


def main() -> int:
    kubeconfig, ns = sys.argv[1], sys.argv[2]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    client.CoreV1Api(api_client).create_namespace(client.V1Namespace(metadata=meta(ns)))
    try:
        for step in (apps, batch, core, events, groups, flowcontrol):
            step(api_client, ns)
    except (Failure, ApiException) as e:
        print(f"FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

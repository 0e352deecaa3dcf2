"""The official Python client against kubeward: list namespaces, create and read a ConfigMap.

Usage: client_smoke.py KUBECONFIG NAMESPACE
Prints one line per check; exits non-zero (with the reason) on the first failure.
"""

import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def main() -> int:
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)

    names = sorted(ns.metadata.name for ns in core.list_namespace().items)
    for wanted in ("default", "kube-system", "kube-public", "kube-node-lease"):
        if wanted not in names:
            print(f"namespace {wanted} missing from {names}")
            return 1
    print("namespaces: " + ",".join(names))

    # What in-cluster clients resolve the API server by.
    svc = core.read_namespaced_service("kubernetes", "default")
    if [(p.name, p.port) for p in svc.spec.ports] != [("https", 443)] or not svc.spec.cluster_ip:
        print(f"kubernetes Service: {svc.spec}")
        return 1
    print(f"kubernetes service: {svc.spec.cluster_ip}:443")

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="from-python", labels={"made-by": "python"}),
        data={"greeting": "hello from python"},
    )
    created = core.create_namespaced_config_map(namespace, body)
    if not created.metadata.uid or not created.metadata.resource_version:
        print(f"created object lacks uid/resourceVersion: {created.metadata}")
        return 1

    read = core.read_namespaced_config_map("from-python", namespace)
    if read.data != {"greeting": "hello from python"} or read.metadata.uid != created.metadata.uid:
        print(f"read back something else: {read}")
        return 1
    print("configmap: " + read.data["greeting"])

    listed = core.list_namespaced_config_map(namespace, label_selector="made-by=python")
    if [cm.metadata.name for cm in listed.items] != ["from-python"]:
        print(f"label selector list: {[cm.metadata.name for cm in listed.items]}")
        return 1

    read.data["greeting"] = "updated"
    core.replace_namespaced_config_map("from-python", namespace, read)
    core.patch_namespaced_config_map("from-python", namespace, {"data": {"extra": "patched"}})
    final = core.read_namespaced_config_map("from-python", namespace)
    if final.data != {"greeting": "updated", "extra": "patched"}:
        print(f"after replace+patch: {final.data}")
        return 1

    # The client's watch sends `watch=True` (Python's spelling), which kube reads as true.
    stream = watch.Watch()
    seen = []
    for event in stream.stream(core.list_namespaced_config_map, namespace, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        stream.stop()
    if seen != [("ADDED", "from-python")]:
        print(f"watch events: {seen}")
        return 1
    print("watch: ADDED from-python")

    core.delete_namespaced_config_map("from-python", namespace)
    try:
        core.read_namespaced_config_map("from-python", namespace)
        print("configmap still readable after delete")
        return 1
    except ApiException as e:
        if e.status != 404:
            print(f"read after delete: {e.status} {e.reason}")
            return 1
    print("deleted: 404")
    return 0


if __name__ == "__main__":
    sys.exit(main())

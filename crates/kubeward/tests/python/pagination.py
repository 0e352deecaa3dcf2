"""A paginated LIST through the official Python client, with writes between the pages.

Usage: pagination.py KUBECONFIG NAMESPACE
Lists the namespace's Secrets two at a time; after the first page it creates `s-9` and deletes
`s-3`. Prints the names every page returned, then the list's resourceVersion of each page.
"""

import sys

from kubernetes import client, config


def main() -> int:
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    first = core.list_namespaced_secret(namespace, limit=2)
    names = [s.metadata.name for s in first.items]
    versions = [first.metadata.resource_version]
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="s-9"), string_data={"k": "v"})
    )
    core.delete_namespaced_secret("s-3", namespace)
    token = first.metadata._continue
    while token:
        page = core.list_namespaced_secret(namespace, limit=2, _continue=token)
        names += [s.metadata.name for s in page.items]
        versions.append(page.metadata.resource_version)
        token = page.metadata._continue
    print("names: " + ",".join(names))
    print("versions: " + ",".join(sorted(set(versions))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

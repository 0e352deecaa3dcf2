"""TokenReview through the official Python client, as an audience-aware service (Vault's
Kubernetes auth) sends it.

Usage: token_review.py KUBECONFIG TOKEN [AUDIENCE...]
Prints the review's status as JSON (Python attribute names).
"""

import json
import sys

from kubernetes import client, config


def main() -> int:
    kubeconfig, token, audiences = sys.argv[1], sys.argv[2], sys.argv[3:]
    api = client.AuthenticationV1Api(config.new_client_from_config(config_file=kubeconfig))
    spec = client.V1TokenReviewSpec(token=token, audiences=audiences or None)
    review = api.create_token_review(client.V1TokenReview(spec=spec))
    status = review.status
    user = status.user.username if status.user else None
    print(json.dumps({"authenticated": status.authenticated, "audiences": status.audiences,
                      "user": user, "error": status.error}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Differences between kube-apiserver and kubeward that are intended, each with its reason.

A rule names requests (a regular expression over request ids) and paths into the compared
answer (a regular expression over the difference's path, `<status>`, `<content-type>`,
`<warnings>`, `body.metadata.labels`, ...). A difference matched by a rule is accepted; a
request whose every difference is accepted counts as accepted, not as different. Keep each rule
as narrow as the reason: a broad rule hides the next bug.
"""

import dataclasses
import re

import compare


@dataclasses.dataclass
class Rule:
    requests: str
    paths: str
    reason: str
    area: str = "intended"

    def matches(self, request_id: str, path: str) -> bool:
        return re.search(self.requests, request_id) is not None and re.search(self.paths, path) is not None


RULES: list[Rule] = [
]


@dataclasses.dataclass
class Result:
    id: str
    area: str
    method: str
    answers: list
    diffs: list          # (path, reference, kubeward)
    accepted: list       # (path, reference, kubeward, rule)

    @property
    def outcome(self) -> str:
        if self.diffs:
            return "different"
        return "accepted" if self.accepted else "same"

    def as_json(self) -> dict:
        return {"id": self.id, "area": self.area, "method": self.method, "outcome": self.outcome,
                "reference": self.answers[0], "kubeward": self.answers[1],
                "diffs": [(p, compare.show(a, 400), compare.show(b, 400)) for p, a, b in self.diffs],
                "accepted": [(p, compare.show(a, 400), compare.show(b, 400), r.reason) for p, a, b, r in self.accepted]}


def judge(req, answers: list, diffs: list) -> Result:
    unexplained, explained = [], []
    for path, a, b in diffs:
        rule = next((r for r in RULES if r.matches(req.id, path)), None)
        if rule is None:
            unexplained.append((path, a, b))
        else:
            explained.append((path, a, b, rule))
    return Result(req.id, req.area, req.method, answers, unexplained, explained)

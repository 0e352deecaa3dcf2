"""Ginkgo's JUnit report of an e2e.test run, read into one outcome per test.

Ginkgo names a spec's testcase `[It] <full text> [<labels>]` and records its state in the
`status` attribute (passed, skipped, pending, failed, timedout, panicked, interrupted,
aborted); a failure's text is in its <failure message=...>, a skip's reason in <skipped>.
"""

import dataclasses
import re
import xml.etree.ElementTree as ET

_LABELS = re.compile(r" \[sig-[^\[\]]*\]$")


@dataclasses.dataclass
class Outcome:
    state: str  # "pass", "fail" or "skip"
    detail: str = ""  # the failure's or skip's first line
    seconds: float = 0.0


def test_name(junit_name: str) -> str | None:
    """The test's text without ginkgo's `[It]` and label suffix; None for suite nodes."""
    if not junit_name.startswith("[It] "):
        return None
    return _LABELS.sub("", junit_name[len("[It] "):])


def _first_line(text: str | None, limit: int = 300) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


def read(path) -> tuple[dict[str, Outcome], list[str]]:
    """Outcomes by test name, and the failures of suite-level nodes (BeforeSuite and such)."""
    root = ET.parse(path).getroot()
    outcomes: dict[str, Outcome] = {}
    suite_failures: list[str] = []
    for case in root.iter("testcase"):
        status = case.get("status", "")
        failure = case.find("failure")
        error = case.find("error")
        problem = failure if failure is not None else error
        detail = _first_line(problem.get("message") or problem.text) if problem is not None else ""
        name = test_name(case.get("name", ""))
        if name is None:
            if status not in ("passed", "skipped", ""):
                suite_failures.append(f"{case.get('name')}: {status}: {detail}")
            continue
        if status == "passed":
            outcome = Outcome("pass")
        elif status in ("skipped", "pending"):
            skipped = case.find("skipped")
            outcome = Outcome("skip", _first_line(skipped.get("message") if skipped is not None else ""))
        else:
            outcome = Outcome("fail", f"{status}: {detail}" if status != "failed" else detail)
        outcome.seconds = float(case.get("time") or 0)
        outcomes[name] = outcome
    return outcomes, suite_failures

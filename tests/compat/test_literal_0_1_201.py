"""literalai 0.1.201, the version Chainlit pins, against the server (its API layer is identical to
0.1.300's; this proves it). The wheel is installed without dependencies into a temporary folder
(a few seconds with PyPI reachable) and a script runs in a subprocess with that folder first on
``PYTHONPATH``, so it uses 0.1.201 with this environment's other packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Server, Tenant

VERSION = "0.1.201"

SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import literalai
from literalai import LiteralClient

assert literalai.__file__.startswith(sys.argv[3]), literalai.__file__
client = LiteralClient(api_key=sys.argv[1], url=sys.argv[2])
user = client.api.create_user("chainlit-user")

@client.step(type="tool", name="lookup")
def lookup(q):
    return {"hits": [q]}

with client.thread(name="pinned", participant_id=user.id) as thread:
    client.message(content="hello", type="user_message", name="user")
    lookup("refund")
client.flush()
first_step = client.api.get_thread(thread.id).steps[0].id
score = client.api.create_score(name="user-feedback", type="HUMAN", value=1, step_id=first_step)
read = client.api.get_thread(thread.id)
page = client.api.list_threads(
    first=20, filters=[{"field": "participantId", "operator": "eq", "value": user.id}]
)
client.flush_and_stop()
print(json.dumps({
    "version": literalai.__version__ if hasattr(literalai, "__version__") else None,
    "name": read.name,
    "steps": sorted((s.name, s.type) for s in read.steps),
    "listed": [t.id for t in page.data],
    "thread": thread.id,
    "scores": sum(len(s.scores) for s in read.steps),
}))
"""


@pytest.fixture(scope="session")
def literal_0_1_201(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("literalai-0.1.201")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            f"literalai=={VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        reason = f"could not install literalai {VERSION} (no PyPI?): {done.stderr[-500:]}"
        if os.environ.get("CI"):  # CI must run it, not skip it
            pytest.fail(reason)
        pytest.skip(reason)
    return target


def test_literalai_0_1_201(literal_0_1_201: Path, server: Server, tenant: Tenant) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(literal_0_1_201), os.getcwd()])}
    env.pop("LITERAL_ENV", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, tenant.api_key, server.url, str(literal_0_1_201)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["name"] == "pinned"
    assert result["steps"] == [["lookup", "tool"], ["user", "user_message"]]
    assert result["listed"] == [result["thread"]]
    assert result["scores"] == 1

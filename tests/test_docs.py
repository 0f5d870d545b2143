"""The README's examples run as written, against a real server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server, Tenant

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_two_commands() -> None:
    text = README.read_text()
    assert "pip install . && threadline serve" in text
    ci = (README.parent / ".ci" / "run").read_text()
    command = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest"
    assert command in text
    assert command.replace("pip install", "pip install -q") in ci


def test_quick_start_runs(server: Server, tenant: Tenant, tmp_path: Path) -> None:
    blocks = python_blocks()
    assert blocks
    script = tmp_path / "quickstart.py"
    script.write_text(blocks[0])
    result = subprocess.run(
        [sys.executable, str(script)],
        env={"THREADLINE_URL": server.url, "THREADLINE_API_KEY": tenant.api_key, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Refund request ['user_message', 'llm']" in result.stdout
    assert "threads with more than 10 tokens: 1" in result.stdout

"""The kernel end of the pipeline sidebar: the snapshot it sends and the comm that carries it."""

from __future__ import annotations

import os
import queue
import uuid
from pathlib import Path

import pytest

pytest.importorskip("IPython")

from dj_jupyter.jupyter.pipeline_comm import TARGET, pipeline_snapshot  # noqa: E402

REPO = Path(__file__).parents[2]

PIPELINE = [
    ("Subject", "manual", "subject_id : int32\n---\nname = '' : varchar(16)\n"),
    ("Session", "manual", "-> Subject\nsession : int16\n"),
    ("Score", "computed", "-> Session\n---\nscore : float64\n# --- python ---\n"
     "def make(self, key):\n    if key['session'] == 2:\n        raise ValueError('bad')\n"
     "    self.insert1({**key, 'score': 1.0})\n"),
]


@pytest.fixture
def shell(db_url: str, schema_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The extension's shell on the backend under test, with the three-table pipeline."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "dj_jupyter")
    connection = ip.run_line_magic("dj_connect", db_url)
    ip.run_line_magic("dj_schema", schema_name)
    for name, tier, body in PIPELINE:
        ip.run_cell_magic("dj_table", f"{name} {tier}", body)
    yield ip
    for name, _, _ in PIPELINE:
        ip.user_ns.pop(name, None)
    connection.close()


def _tables(snapshot: dict, schema: str) -> dict[str, dict]:
    [entry] = [s for s in snapshot["schemas"] if s["name"] == schema]
    return {table["name"]: table for table in entry["tables"]}


def _magics(ip):
    return ip.magics_manager.registry["DataJointMagics"]


def test_snapshot_lists_tables_with_tiers_rows_and_jobs(shell, schema_name: str) -> None:
    ns = shell.user_ns
    ns["Subject"].insert([{"subject_id": 1}, {"subject_id": 2}])
    ns["Session"].insert([{"subject_id": 1, "session": 1}, {"subject_id": 1, "session": 2},
                          {"subject_id": 2, "session": 1}])
    before = _tables(pipeline_snapshot(ns, _magics(shell)), schema_name)
    assert [(t["name"], t["tier"], t["rows"]) for t in before.values()] == [
        ("Subject", "manual", 2), ("Session", "manual", 3), ("Score", "computed", 0)]
    assert before["Score"]["todo"] == 3 and before["Score"]["failed"] == 0
    assert before["Session"]["parents"] == [f"{schema_name}.subject"]
    assert before["Score"]["variable"] == "Score" and before["Subject"]["todo"] is None

    ns["Score"].populate(reserve_jobs=True, suppress_errors=True)
    after = _tables(pipeline_snapshot(ns, _magics(shell)), schema_name)
    assert (after["Score"]["rows"], after["Score"]["todo"], after["Score"]["failed"],
            after["Score"]["running"]) == (2, 1, 1, 0)


def test_snapshot_marks_the_active_schema_and_carries_the_vocabulary(shell,
                                                                        schema_name: str) -> None:
    snapshot = pipeline_snapshot(shell.user_ns, _magics(shell))
    assert snapshot["active"] == schema_name
    assert [s["name"] for s in snapshot["schemas"] if s["active"]] == [schema_name]
    vocabulary = snapshot["vocabulary"]
    assert vocabulary["tiers"] == ["manual", "lookup", "imported", "computed"]
    assert "blob>" in vocabulary["codecs"] and "<blob@>" in vocabulary["types"]


def test_a_table_known_only_to_the_schema_is_listed_without_jobs(shell,
                                                                 schema_name: str) -> None:
    del shell.user_ns["Score"]
    score = _tables(pipeline_snapshot(shell.user_ns, _magics(shell)), schema_name)["Score"]
    assert score["variable"] is None and score["todo"] is None and score["rows"] == 0


# --- the comm, in a real kernel -----------------------------------------------------------


@pytest.fixture
def kernel(tmp_path: Path):
    jupyter_client = pytest.importorskip("jupyter_client.manager")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env = {k: v for k, v in env.items() if not k.startswith("DJ_")} | {
        "DJ_IGNORE_CONFIG_FILE": "1"}
    manager, client = jupyter_client.start_new_kernel(kernel_name="python3", env=env,
                                                      cwd=str(tmp_path))
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _open_comm(client) -> str:
    comm_id = uuid.uuid4().hex
    client.shell_channel.send(client.session.msg(
        "comm_open", {"comm_id": comm_id, "target_name": TARGET, "data": {}}))
    return comm_id


def _next_comm_message(client, comm_id: str) -> dict:
    """The next comm_msg or comm_close on ``comm_id`` (iopub), skipping everything else."""
    while True:
        try:
            msg = client.get_iopub_msg(timeout=30)
        except queue.Empty:
            raise AssertionError("the kernel sent nothing on the comm within 30 s") from None
        if msg["msg_type"] in ("comm_msg", "comm_close") and \
                msg["content"]["comm_id"] == comm_id:
            return msg


def _run(client, code: str) -> list[dict]:
    """Run ``code``; the data of the comm messages the kernel sent while running it."""
    msg_id = client.execute(code)
    sent: list[dict] = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        assert msg["msg_type"] != "error", msg["content"]
        if msg["msg_type"] == "comm_msg":
            sent.append(msg["content"]["data"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return sent


def test_the_kernel_without_the_extension_closes_the_comm(kernel) -> None:
    comm_id = _open_comm(kernel)
    assert _next_comm_message(kernel, comm_id)["msg_type"] == "comm_close"


def test_the_comm_sends_a_snapshot_and_another_after_a_declaring_cell(kernel,
                                                                        tmp_path: Path) -> None:
    _run(kernel, f"%load_ext dj_jupyter\n%dj_connect sqlite:///{tmp_path / 'lab.db'}\n"
                 "%dj_schema lab")
    comm_id = _open_comm(kernel)
    first = _next_comm_message(kernel, comm_id)["content"]["data"]
    assert first["kind"] == "snapshot" and first["active"] == "lab"
    assert first["schemas"] == [{"name": "lab", "active": True, "tables": []}]
    [second] = _run(kernel, "%%dj_table Animal\nanimal : int32\n")
    assert [t["name"] for t in second["schemas"][0]["tables"]] == ["Animal"]
    [third] = _run(kernel, "Animal.insert1({'animal': 1})")
    assert third["schemas"][0]["tables"][0]["rows"] == 1
    assert _run(kernel, "x = 1") == []  # nothing changed, nothing sent

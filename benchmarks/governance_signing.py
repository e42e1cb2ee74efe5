"""What signing costs: one governed action signed and verified, and `audit verify` at 1M events with 1,000
signed actions against the same workspace with 1,000 unsigned events in their place.

    python benchmarks/governance_signing.py [--events 1000000] [--signed 1000] [--repeat 5]

Peers in the same run: `ssh-keygen -Y verify` per signature (what git does for each SSH-signed commit)
beside Workbench's in-process check, and an unsigned append beside a signed one. Medians; the load
average is printed because these machines are shared. Targets (issue 12): sign ≤ 20 ms and verify
≤ 20 ms per action; whole verify with 1,000 signed actions within 10 % of unsigned.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def _key(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "id"), "-C", "bench"], check=True)
    return folder / "id"


def _median_ms(fn, n: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def per_action(work: Path, n: int) -> None:
    from workbench.access.actions import append_governed, load_ledger
    from workbench.access.governed import NAMESPACE, statement
    from workbench.audit import AuditLog
    from workbench.signing.sshsig import verify
    from workbench.workspace.create import init_workspace

    ws = init_workspace(work / "small", name="sign-bench")
    seqs: list[int] = []

    def signed() -> None:
        seqs.append(append_governed(ws, "audit.checkpoint_signed", "bench", {"size": 1, "head_hash": "0" * 64}).seq)

    def unsigned() -> None:
        with AuditLog(ws.audit_path, ws.root) as log:
            log.append_event("audit.note", actor=ws.actor, subject="bench", params={"size": 1, "head_hash": "0" * 64})

    sign_ms, plain_ms = _median_ms(signed, n), _median_ms(unsigned, n)
    with AuditLog(ws.audit_path, ws.root) as log:
        ledger = load_ledger(ws, log)
        events = [log.get_event(s) for s in seqs]
    key = next(iter(ledger.keys.values())).key

    def check_one(i: list[int] = [0]) -> None:  # noqa: B006 - a counter
        e = events[i[0] % len(events)]
        i[0] += 1
        body = {k: v for k, v in e.params.items() if k != "signature"}
        verify(e.params["signature"]["sig"], statement(ledger.log_id, e.kind, e.subject, e.actor, body), NAMESPACE, key)

    verify_ms = _median_ms(check_one, n)
    signers = work / "allowed"
    signers.write_text(f"{ws.actor} {key.openssh}\n")

    def ssh_keygen_verify(i: list[int] = [0]) -> None:  # noqa: B006
        e = events[i[0] % len(events)]
        i[0] += 1
        body = {k: v for k, v in e.params.items() if k != "signature"}
        sig = work / "s.sig"
        sig.write_text(e.params["signature"]["sig"] + "\n")
        subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", ws.actor, "-n", NAMESPACE, "-s",
                        str(sig)], input=statement(ledger.log_id, e.kind, e.subject, e.actor, body),
                       capture_output=True, check=True)

    peer_ms = _median_ms(ssh_keygen_verify, n)
    print(f"\n| one governed action (median of {n}) | ms | target |\n| --- | --- | --- |")
    print(f"| append, unsigned (a plain event) | {plain_ms:.1f} | |")
    print(f"| append, signed with ssh-keygen -Y sign | {sign_ms:.1f} | ≤ 20 |")
    print(f"| verify in-process (Workbench) | {verify_ms:.3f} | ≤ 20 |")
    print(f"| verify with ssh-keygen -Y verify (git's way) | {peer_ms:.1f} | |")
    print(f"in-process verify is {peer_ms / verify_ms:.0f}× faster than a process per signature")


def build_base(root: Path, events: int) -> None:
    from audit_log import fake_event
    from workbench.audit import AuditLog
    from workbench.workspace.create import init_workspace

    ws = init_workspace(root, name="verify-bench")
    rng = random.Random(5)
    with AuditLog(ws.audit_path, ws.root) as log:
        have = log.head()[0]
        while have < events:
            n = min(10_000, events - have)
            log.record_many([{**fake_event(rng, have + j), "kind": "run.stage"} for j in range(n)])
            have += n


def add_actions(root: Path, count: int, signed: bool) -> None:
    from workbench.access.actions import append_governed, load_ledger
    from workbench.audit import AuditLog
    from workbench.workspace import Workspace

    ws = Workspace.load(root)
    with AuditLog(ws.audit_path, ws.root) as log:
        ledger = load_ledger(ws, log)
        for i in range(count):
            # A signed checkpoint is a governed action with no registry row, so only signing differs.
            params = {"size": i, "head_hash": "0" * 64, "key": "bench"}
            if signed:
                append_governed(ws, "audit.checkpoint_signed", f"bench/{i}", params, ledger=ledger, log=log)
            else:
                log.append_event("audit.note", actor=ws.actor, subject=f"bench/{i}", params=params)


def time_verify(root: Path, repeat: int) -> float:
    """Median wall seconds of `workbench audit verify --no-artifacts` as a fresh process."""
    from workspace_verify import time_verify as timed

    return timed(root, ["--no-artifacts"], repeat)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--signed", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--per-action", type=int, default=50, help="Actions timed one by one.")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wb-sign-bench-"))
    os.environ["WORKBENCH_SIGNING_KEY"] = str(_key(work / "ssh"))
    os.environ.pop("WORKBENCH_USER", None)
    try:
        print(f"load average: {os.getloadavg()[0]:.2f}", flush=True)
        per_action(work, a.per_action)
        t0 = time.perf_counter()
        build_base(work / "unsigned", a.events)
        shutil.copytree(work / "unsigned", work / "signed")
        add_actions(work / "unsigned", a.signed, signed=False)
        add_actions(work / "signed", a.signed, signed=True)
        print(f"\nbuilt two workspaces of {a.events:,} events in {time.perf_counter() - t0:.0f} s; "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        plain, signed = [], []
        for _ in range(a.repeat):  # interleaved, so a burst of load hits both
            plain.append(time_verify(work / "unsigned", 1))
            signed.append(time_verify(work / "signed", 1))
        p, s = statistics.median(plain), statistics.median(signed)
        print(f"\n| audit verify --no-artifacts, {a.events:,} events (median of {a.repeat}) | s | vs unsigned |")
        print("| --- | --- | --- |")
        print(f"| {a.signed:,} unsigned events | {p:.2f} | 1.00× |")
        print(f"| {a.signed:,} signed governed actions | {s:.2f} | {s / p:.2f}× |  (target ≤ 1.10×)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

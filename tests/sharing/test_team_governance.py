"""Who approved a champion is proven by real OS accounts and their own SSH keys (issue 12, items 1–3, 5).

alice founds a shared workspace with her key, enrolls bob's and carol's keys and gives them roles; carol
trains and asks for a promotion; only an approver other than the requester can approve it, under any
spelling; a label cannot borrow another's identity; a revoked key no longer signs; the governance report
and the TUI say who signed what.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from osusers import OsUser, Team

pytestmark = pytest.mark.slow

TINY = ('name = "tiny"\ntarget = "species"\ncandidates = ["linear"]\nmax_trials = 1\ncv_folds = 3\n'
        'time_budget_s = 60\n[data]\ntable = "penguins"\n')

PILOT_HEADER = textwrap.dedent('''
    import asyncio, sys
    from pathlib import Path
    from workbench.tui.app import WorkbenchApp
    from workbench.workspace.locate import locate_workspace

    async def main(root):
        app = WorkbenchApp(locate_workspace(Path(root)).workspace)
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(200):
                await pilot.pause(0.2)
                if app.identity_text:
                    break
            await pilot.press("4")
            for _ in range(100):
                await pilot.pause(0.2)
                text = str(app.query_one("#models-status").render())
                if "version" in text:
                    break
        print(app.sub_title)

    asyncio.run(main(sys.argv[1]))
''')


def _key_for(team: Team, user: OsUser) -> Path:
    """The user's own key pair in their ~/.ssh, made by the user; returns a copy of the public half."""
    ssh = user.home / ".ssh"
    if not (ssh / "id_ed25519").exists():
        assert team.run_as(user, ["/bin/mkdir", "-p", "-m", "700", str(ssh)]).returncode == 0
        made = team.run_as(user, ["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user.name, "-f",
                                  str(ssh / "id_ed25519")])
        assert made.returncode == 0, made.stderr
    public = team.base / f"{user.name}.pub"
    public.write_text((user.home / ".ssh" / "id_ed25519.pub").read_text())
    public.chmod(0o644)
    return public


def _ok(done) -> str:  # noqa: ANN001
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promotions_are_signed_by_real_people_with_the_roles_for_it(team: Team) -> None:
    alice, bob, carol = team.alice, team.bob, team.carol
    keys = {u.name: _key_for(team, u) for u in (alice, bob, carol)}
    ws = team.srv / "governed"
    _ok(team.workbench(alice, "init", "--shared", team.group, "--sample", str(ws)))
    w = ["-w", str(ws)]
    listed = json.loads(_ok(team.workbench(alice, *w, "keys", "list", "--json")))
    assert [k["login"] for k in listed] == [alice.name]  # the founder's key, enrolled by init
    for user in (bob, carol):
        _ok(team.workbench(alice, *w, "keys", "add", user.name, str(keys[user.name])))
    # Not an admin: bob cannot enroll keys.
    refused = team.workbench(bob, *w, "keys", "add", bob.name, str(keys[bob.name]), "--comment", "again")
    assert refused.returncode == 2 and "needs the admin role" in refused.stderr

    settings = ws / "workbench.toml"
    settings.write_text(settings.read_text() + textwrap.dedent(f'''
        [governance.roles]
        {alice.name} = "admin"
        {bob.name} = "approver"
        "group:{team.group}" = "contributor"
    '''))
    # Until an admin adopts it, the hand edit is not in force and verify says so.
    unadopted = team.workbench(bob, *w, "audit", "verify", "--no-artifacts")
    assert unadopted.returncode == 1 and "not in force until an admin" in unadopted.stdout
    assert team.workbench(carol, *w, "governance", "adopt").returncode == 2  # carol is no admin (yet: everyone is an approver)
    _ok(team.workbench(alice, *w, "governance", "adopt", "--reason", "team roles"))

    spec = team.base / "tiny_gov.toml"
    spec.write_text(TINY)
    spec.chmod(0o644)
    run = json.loads(_ok(team.workbench(carol, *w, "batch", str(spec), "--json")))
    _ok(team.workbench(carol, *w, "models", "register", run["run_id"], "--name", "species"))
    _ok(team.workbench(carol, *w, "models", "promote", "species:1", "--to", "champion", "--reason", "first"))
    requests = json.loads(_ok(team.workbench(carol, *w, "models", "requests", "--json")))
    request_id = str(requests[0]["id"])

    # A contributor is not an approver; a label borrowing bob's name is refused, not believed.
    denied = team.workbench(carol, *w, "models", "approve", request_id)
    assert denied.returncode == 2 and "needs the approver role" in denied.stderr
    borrowed = team.workbench(carol, *w, "models", "approve", request_id, env={"WORKBENCH_USER": bob.name})
    assert borrowed.returncode == 2 and "names someone other than your login" in borrowed.stderr
    # An approver cannot approve their own request, under any spelling of their name.
    _ok(team.workbench(bob, *w, "models", "promote", "species:1", "--to", "shadow", "--reason", "mine"))
    mine = [r for r in json.loads(_ok(team.workbench(bob, *w, "models", "requests", "--json"))) if r["alias"] == "shadow"]
    for env in ({}, {"WORKBENCH_USER": bob.name.upper()}, {"WORKBENCH_USER": f" {bob.name} "}):
        own = team.workbench(bob, *w, "models", "approve", str(mine[0]["id"]), env=env)
        assert own.returncode == 2 and "four-eyes" in own.stderr, own.stderr

    # bob approves, signed with his own key: the alias moves.
    _ok(team.workbench(bob, *w, "models", "approve", request_id, "--reason", "holdout better"))
    shown = json.loads(_ok(team.workbench(alice, *w, "models", "show", "species@champion", "--json")))
    assert shown["version"] == 1
    report = json.loads(_ok(team.workbench(alice, *w, "governance", "report", "--json")))
    model = report["models"][0]
    assert model["requested_by"] == carol.name and model["request_signature"] == "signed"
    assert [(a["actor"], a["decision"], a["signature"]) for a in model["approvals"]] == [(bob.name, "approve", "signed")]
    assert report["identity"] == "os" and model["promotion_signature"] == "signed"

    # The TUI, run by bob, shows who he is and his role.
    pilot = team.base / "pilot_header.py"
    pilot.write_text(PILOT_HEADER)
    pilot.chmod(0o644)
    header = _ok(team.run_as(bob, [str(team.python), str(pilot), str(ws)])).strip().splitlines()[-1]
    assert f"{bob.name} (approver)" in header

    # bob's key is revoked: he can no longer sign, so he can no longer approve.
    fingerprint = next(k["fingerprint"] for k in json.loads(_ok(team.workbench(alice, *w, "keys", "list", "--json")))
                       if k["login"] == bob.name)
    _ok(team.workbench(alice, *w, "keys", "revoke", fingerprint, "--reason", "laptop lost"))
    _ok(team.workbench(carol, *w, "models", "promote", "species:1", "--to", "champion-eu", "--reason", "eu"))
    eu = [r for r in json.loads(_ok(team.workbench(carol, *w, "models", "requests", "--json")))
          if r["alias"] == "champion-eu"][0]
    late = team.workbench(bob, *w, "models", "approve", str(eu["id"]))
    assert late.returncode == 2 and "must be signed with your own key" in late.stderr
    verified = team.workbench(carol, *w, "audit", "verify", "--no-artifacts")
    assert verified.returncode == 0, verified.stdout + verified.stderr

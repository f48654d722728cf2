#!/usr/bin/python3
"""Tests of quotactl, run by meson (suite quotactl), one case per run:

    test-quotactl.py CASE QUOTACTL SOURCE_ROOT LIBQUOTA

Exit status 0 passes, 1 fails, 77 skips: a case that needs JSON support
skips in a build without cJSON. Standard library only.
"""

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

SKIP = 77
COMMANDS = ["apply", "delete", "get", "describe", "reserve", "acquire", "check", "commit",
            "release", "admit", "sync", "take", "metrics", "compact", "demo"]


class Failed(Exception):
    pass


class Skipped(Exception):
    pass


class Env:
    def __init__(self, quotactl, root, lib, tmp):
        self.quotactl = quotactl
        self.root = root
        self.lib = lib
        self.tmp = tmp
        self.manifests = os.path.join(root, "examples", "manifests")

    def run(self, *args, stdin=None, env=None):
        """Run quotactl; every line it writes on stderr must start with "quotactl: "."""
        environ = dict(os.environ)
        environ.pop("QUOTACTL_NO_JOURNAL", None)
        environ.update(env or {})
        proc = subprocess.run([self.quotactl, *args], input=stdin, capture_output=True,
                              text=True, env=environ, timeout=60)
        for line in proc.stderr.splitlines():
            if not line.startswith("quotactl: "):
                raise Failed(f"quotactl {' '.join(args)}: stderr line without the prefix: {line!r}")
        return proc

    def expect(self, code, *args, **kw):
        proc = self.run(*args, **kw)
        if proc.returncode != code:
            raise Failed(f"quotactl {' '.join(args)}: exit {proc.returncode}, expected {code}\n"
                         f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def state(self, name="state"):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        return path

    def manifest(self, *parts):
        return os.path.join(self.manifests, *parts)


def check(cond, what):
    if not cond:
        raise Failed(what)


def needs_json(env):
    if ", json)" not in env.expect(0, "--version").stdout:
        raise Skipped("this libquota is built without JSON support")


REG = {"apiVersion": "quota.miloapis.com/v1alpha1", "kind": "ResourceRegistration",
       "metadata": {"name": "vcpus"},
       "spec": {"resourceType": "example.com/vcpus", "consumerType": {"kind": "Project"},
                "type": "Allocation"}}


def grant(amount):
    return {"apiVersion": "quota.miloapis.com/v1alpha1", "kind": "ResourceGrant",
            "metadata": {"name": "g", "namespace": "ops"},
            "spec": {"consumerRef": {"kind": "Project", "name": "web"},
                     "allowances": [{"resourceType": "example.com/vcpus",
                                     "buckets": [{"amount": amount}]}]}}


def claim(name, amount):
    return {"apiVersion": "quota.miloapis.com/v1alpha1", "kind": "ResourceClaim",
            "metadata": {"name": name, "namespace": "ops"},
            "spec": {"consumerRef": {"kind": "Project", "name": "web"},
                     "requests": [{"resourceType": "example.com/vcpus", "amount": amount}]}}


# --- cases ---

def case_demo(env):
    """The demo's output is the expected text, whatever the journal does."""
    expected_path = os.path.join(env.root, "tools", "quotactl", "demo-expected.txt")
    with open(expected_path, encoding="utf-8") as f:
        expected = f.read()
    proc = env.expect(0, "demo", env={"TMPDIR": env.tmp})
    check(proc.stderr == "", f"demo wrote on stderr: {proc.stderr}")
    if proc.stdout != expected:
        import difflib
        diff = "".join(difflib.unified_diff(expected.splitlines(True),
                                            proc.stdout.splitlines(True),
                                            "demo-expected.txt", "quotactl demo"))
        raise Failed("the demo's output differs:\n" + diff)
    check(os.listdir(env.tmp) == [], f"the demo left {os.listdir(env.tmp)} behind")
    proc = env.expect(0, "demo", "--keep", env={"TMPDIR": env.tmp})
    kept = os.listdir(env.tmp)
    check(len(kept) == 1 and kept[0] in proc.stderr, "demo --keep keeps its directory and says where")


def case_help(env):
    out = env.expect(0, "--help").stdout
    for name in COMMANDS:
        check(f"  {name} " in out, f"--help does not list {name}")
        for flag in ("--help", "-h"):
            proc = env.expect(0, name, flag)
            check(proc.stdout.startswith(f"usage: quotactl {name}"),
                  f"{name} {flag}: {proc.stdout!r}")
    check(env.expect(0, "-h").stdout == out, "-h and --help differ")
    env.expect(2)
    env.expect(2, "nosuch")
    env.expect(2, "get", "--nosuch", "buckets")


def case_version(env):
    out = env.expect(0, "--version").stdout
    check(out.startswith("quotactl ") and "libquota " in out, f"--version: {out!r}")


def case_exit_codes(env):
    state = ["--state", env.state()]
    # 0: done
    env.expect(0, *state, "get", "registrations")
    # 1: any other error (no such grant; compact without a journal)
    proc = env.expect(1, *state, "delete", "grant", "ops/nosuch")
    check("not found" in proc.stderr, proc.stderr)
    env.expect(1, *state, "--no-journal", "compact")
    # 2: bad input
    env.expect(2, *state, "get", "nosuch")
    env.expect(2, *state, "take", "Project", "example.com/vcpus", "1")
    env.expect(2, *state, "take", "Project/web", "example.com/vcpus", "0")
    env.expect(2, *state, "get", "buckets", "-o", "yaml")
    env.expect(2, *state, "get", "registrations", "--consumer", "Project/web")
    needs_json(env)
    env.expect(2, *state, "apply", "-f", env.write("bad.json", "{"))
    # 3: denied, with the message on stderr
    path = env.write("deny.json", [REG, grant(4), claim("small", 3), claim("big", 2)])
    proc = env.expect(3, *state, "apply", "-f", path)
    check("resourceclaim/ops/small granted" in proc.stdout, proc.stdout)
    check("resourceclaim/ops/big denied" in proc.stderr and "available 1" in proc.stderr,
          proc.stderr)
    rate = {"apiVersion": "quota.miloapis.com/v1alpha1", "kind": "ResourceRegistration",
            "spec": {"resourceType": "example.com/calls", "consumerType": {"kind": "Project"},
                     "type": "Rate"}}
    rated = grant(1)
    rated["spec"]["allowances"] = [{"resourceType": "example.com/calls",
                                    "buckets": [{"amount": 1, "period": "minute"}]}]
    calls = claim("call", 1)
    calls["spec"]["requests"][0] = {"resourceType": "example.com/calls", "amount": 2}
    proc = env.expect(3, *state, "apply", "-f", env.write("rate.json", [rate, rated, calls]))
    check("denied" in proc.stderr, proc.stderr)


def case_bad_json(env):
    needs_json(env)
    state = ["--state", env.state()]
    bad = grant(0)
    bad["spec"]["allowances"][0]["buckets"][0]["amount"] = -5
    path = env.write("bad-grant.json", {"apiVersion": "v1", "kind": "List", "items": [REG, bad]})
    proc = env.expect(2, *state, "apply", "-f", path)
    check(path in proc.stderr and "items[1].spec.allowances[0].buckets[0].amount" in proc.stderr,
          f"the message names neither the file nor the field: {proc.stderr}")
    path = env.write("broken.json", '{"apiVersion": "quota.miloapis.com/v1alpha1",\n  "kind": }')
    proc = env.expect(2, *state, "apply", "-f", path)
    check(path in proc.stderr and "line 2" in proc.stderr, proc.stderr)
    typo = dict(REG, spec=dict(REG["spec"], defaultLimt=5))
    proc = env.expect(2, *state, "apply", "-f", "-", stdin=json.dumps(typo))
    check("<stdin>" in proc.stderr and "spec.defaultLimt" in proc.stderr, proc.stderr)
    proc = env.expect(2, *state, "reserve", "-f", env.write("c.json", claim("c", 0)))
    check("c.json" in proc.stderr and "spec.requests[0]" in proc.stderr, proc.stderr)
    proc = env.expect(2, *state, "admit", "-f", env.write("t.json", "[1,"))
    check("t.json" in proc.stderr, proc.stderr)
    proc = env.expect(2, *state, "reserve", "-f", env.write("r.json", [REG, claim("c", 1)]))
    check("quotactl apply" in proc.stderr, proc.stderr)


def case_state_dir(env):
    # Created when missing, mode 0700, with its marker.
    state = env.state("new")
    env.expect(0, "--state", state, "get", "claims")
    check(stat.S_IMODE(os.stat(state).st_mode) == 0o700, "the state directory is not 0700")
    with open(os.path.join(state, "FORMAT"), encoding="utf-8") as f:
        check(f.read() == "libquota-state 1\n", "FORMAT does not say libquota-state 1")
    env.expect(0, "--state", state, "get", "claims")
    # An empty directory is taken and marked.
    empty = env.state("empty")
    os.mkdir(empty)
    env.expect(0, "--state", empty, "get", "grants")
    check(os.path.exists(os.path.join(empty, "FORMAT")), "an empty directory is not marked")
    # Anything else is refused, and left alone.
    other = env.state("other")
    os.mkdir(other)
    env.write("other/notes.txt", "mine")
    proc = env.expect(2, "--state", other, "get", "buckets")
    check("not a quotactl state directory" in proc.stderr, proc.stderr)
    check(os.listdir(other) == ["notes.txt"], "a refused directory was changed")
    env.write("foreign/FORMAT", "something else 2\n")
    proc = env.expect(2, "--state", env.state("foreign"), "get", "buckets")
    check("not a quotactl state directory" in proc.stderr, proc.stderr)
    proc = env.expect(2, "--state", env.write("plain", "x"), "get", "buckets")
    check("not a directory" in proc.stderr, proc.stderr)


def case_durations(env):
    state = ["--state", env.state()]
    path = env.write("c.json", claim("c", 1))
    for bad in ["", "30", "s", "1.5s", "-1s", "30x", "1h 30m", "0s", "99999999999999999999s",
                "30S", "ms"]:
        proc = env.expect(2, *state, "reserve", "-f", path, "--ttl", bad)
        check("--ttl" in proc.stderr, f"--ttl {bad!r}: {proc.stderr}")
    needs_json(env)
    for good in ["30s", "500ms", "2m", "1h", "1h30m", "1d"]:
        # The claim names an unregistered type: refused for that, not for its --ttl.
        proc = env.expect(2, *state, "reserve", "-f", path, "--ttl", good)
        check("--ttl" not in proc.stderr and "not registered" in proc.stderr,
              f"--ttl {good!r}: {proc.stderr}")
    proc = env.expect(2, *state, "acquire", "-f", path, "--ttl", "30s")
    check("--ttl" in proc.stderr, proc.stderr)


def case_apply_dir(env):
    needs_json(env)
    d = os.path.join(env.tmp, "manifests")
    # Applied by name: the registration in 01 comes before the grant that needs it.
    env.write("manifests/02-grant.json", grant(4))
    env.write("manifests/01-registration.json", REG)
    env.write("manifests/03-claim.json", claim("one", 1))
    env.write("manifests/notes.txt", "not JSON, not read")
    proc = env.expect(0, "--state", env.state(), "apply", "-f", d)
    check(proc.stdout.splitlines() == ["resourceregistration/vcpus created",
                                       "resourcegrant/ops/g created",
                                       "resourceclaim/ops/one granted"], proc.stdout)
    proc = env.expect(0, "--state", env.state(), "apply", "-f", "-",
                      stdin=json.dumps([REG, grant(4)]))
    # The state directory kept the first apply: the same objects again change nothing.
    check(proc.stdout.splitlines() == ["resourceregistration/vcpus unchanged",
                                       "resourcegrant/ops/g unchanged"], proc.stdout)
    # In memory, nothing is kept from one process to the next.
    for how in (["--no-journal"], []):
        mem = env.state("memory")
        proc = env.run("--state", mem, *how, "apply", "-f", "-", stdin=json.dumps([REG]),
                       env={} if how else {"QUOTACTL_NO_JOURNAL": "1"})
        check(proc.stdout == "resourceregistration/vcpus created\n", proc.stdout + proc.stderr)
    os.mkdir(os.path.join(env.tmp, "none"))
    env.expect(2, "--state", env.state(), "apply", "-f", os.path.join(env.tmp, "none"))
    env.expect(1, "--state", env.state(), "apply", "-f", os.path.join(env.tmp, "missing.json"))


def manifest_dir(env):
    """The top-level example manifests (registrations, grants, policies) in one directory."""
    d = os.path.join(env.tmp, "example-manifests")
    os.mkdir(d)
    for name in sorted(os.listdir(env.manifests)):
        if name.endswith(".json"):
            shutil.copy(env.manifest(name), d)
    return d


def case_manifests(env):
    needs_json(env)
    d = manifest_dir(env)
    proc = env.expect(0, "--state", env.state(), "apply", "-f", d)
    out = proc.stdout
    for line in ["resourceregistration/compute-instances created",
                 "resourceregistration/compute-cpu created",
                 "resourceregistration/api-requests created",
                 "resourcegrant/web/web-compute created"]:
        check(line in out, f"{line!r} not in {out!r}")
    check("claimcreationpolicy/instance-count created" in out, out)
    check("grantcreationpolicy/pro-projects created" in out, out)
    policies = json.loads(env.expect(0, "--state", env.state(), "get", "policies", "-o",
                                     "json").stdout)
    kinds = sorted((p["kind"], p["metadata"]["name"]) for p in policies["items"])
    check(kinds == [("ClaimCreationPolicy", "instance-count"),
                    ("GrantCreationPolicy", "pro-projects")], f"policies: {kinds}")
    for name in ("web-1.json", "too-big.json"):
        shutil.copy(env.manifest("claims", name), d)
    proc = env.expect(3, "--state", env.state(), "apply", "-f", d)
    check("resourceclaim/web/web-1 granted" in proc.stdout, proc.stdout)
    check("resourceclaim/web/huge denied" in proc.stderr, proc.stderr)
    for name in ("project-web.json", "instance-web-2.json"):
        with open(env.manifest("triggers", name), encoding="utf-8") as f:
            check(json.load(f)["metadata"]["uid"], f"{name} has a uid")
    proc = env.expect(0, "--state", env.state(), "admit", "-f",
                      env.manifest("triggers", "instance-web-2.json"), "--dry-run")
    check(proc.stdout.startswith("allowed"), proc.stdout)


def case_take(env):
    """Rate limits: a take within the burst, one after it, one that never fits."""
    needs_json(env)
    state = ["--state", env.state()]
    env.expect(0, *state, "apply", "-f", manifest_dir(env))
    take = [*state, "take", "Project/web", "api.example.com/requests"]
    out = env.expect(0, *take, "10").stdout
    check(out.startswith("allowed limit=5 period=1s remaining=0 "), out)
    proc = env.expect(3, *take, "1")
    check(proc.stdout.startswith("denied ") and "retry_after_ms=0 " not in proc.stdout,
          proc.stdout)
    check("retry after" in proc.stderr, proc.stderr)
    proc = env.expect(3, *take, "11")
    check(" retry_after_ms=never " in proc.stdout, proc.stdout)
    check("more than it ever lets through" in proc.stderr, proc.stderr)


def case_get_json(env):
    state = ["--state", env.state()]
    for what in ("registrations", "grants", "buckets", "claims"):
        doc = json.loads(env.expect(0, *state, "get", what, "-o", "json").stdout)
        check(doc == {"apiVersion": "v1", "kind": "List", "items": []}, f"{what}: {doc}")
    check(json.loads(env.expect(0, *state, "get", "quotas", "-o", "json").stdout) == [],
          "quotas")
    header = env.expect(0, *state, "get", "buckets").stdout.split()
    check(header[:3] == ["CONSUMER", "RESOURCE", "TYPE"], f"buckets header: {header}")
    metrics = env.expect(0, *state, "metrics").stdout
    check("quota_decisions_total" in metrics, metrics[:200])


def case_persist_apply(env):
    """apply in one process, get in the next: the journal keeps what was applied."""
    needs_json(env)
    state = ["--state", env.state()]
    d = manifest_dir(env)
    env.expect(0, *state, "apply", "-f", d)
    doc = json.loads(env.expect(0, *state, "get", "registrations", "-o", "json").stdout)
    types = sorted(item["spec"]["resourceType"] for item in doc["items"])
    check(types == ["api.example.com/requests", "compute.example.com/cpu",
                    "compute.example.com/instances"], f"registrations: {types}")
    grants = env.expect(0, *state, "get", "grants", "--consumer", "Project/web").stdout
    check("web-compute" in grants, grants)
    proc = env.expect(0, *state, "apply", "-f", d)
    check("resourcegrant/web/web-compute unchanged" in proc.stdout, proc.stdout)
    # compact folds the journal into a snapshot; the next process reads
    # the same state back from it.
    before = env.expect(0, *state, "get", "grants").stdout
    proc = env.expect(0, *state, "compact")
    check("compacted" in proc.stdout, proc.stdout)
    check(os.path.exists(os.path.join(state[1], "journal.snapshot")), "no snapshot file")
    check(env.expect(0, *state, "get", "grants").stdout == before, "grants after compact")
    env.expect(0, *state, "compact")  # twice: over the previous snapshot
    check(env.expect(0, *state, "get", "grants").stdout == before, "grants after compact 2")


def case_persist_claim(env):
    """reserve in one process, commit in the next, release in a third."""
    needs_json(env)
    state = ["--state", env.state()]
    env.expect(0, *state, "apply", "-f", env.write("setup.json", [REG, grant(4)]))
    path = env.write("c.json", claim("web-1", 3))
    proc = env.expect(0, *state, "reserve", "-f", path, "--ttl", "1h")
    check("resourceclaim/ops/web-1 reserved" in proc.stdout, proc.stdout)
    proc = env.expect(0, *state, "describe", "claim", "ops/web-1")
    check("Reserved" in proc.stdout, proc.stdout)
    env.expect(3, *state, "reserve", "-f", env.write("d.json", claim("web-2", 2)))
    env.expect(0, *state, "commit", "ops/web-1")
    claims = env.expect(0, *state, "get", "claims").stdout
    check("Granted" in claims, claims)
    bucket = env.expect(0, *state, "describe", "bucket", "Project/web", "example.com/vcpus").stdout
    check("Allocated:           3" in bucket, bucket)
    env.expect(0, *state, "release", "ops/web-1")
    env.expect(0, *state, "acquire", "-f", env.write("e.json", claim("web-3", 4)))


def case_in_use(env):
    """A second user of the state directory is told so, and changes nothing."""
    state = env.state()
    env.expect(0, "--state", state, "get", "registrations")
    # The engine holds an flock on journal.lock while it has the journal
    # open; holding it here is what another process's engine looks like.
    with open(os.path.join(state, "journal.lock"), "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = env.expect(1, "--state", state, "get", "registrations")
        check("in use" in proc.stderr, proc.stderr)
    env.expect(0, "--state", state, "get", "registrations")


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} {'|'.join(CASES)} QUOTACTL SOURCE_ROOT LIBQUOTA",
              file=sys.stderr)
        return 2
    case, quotactl, root, lib = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="quotactl-test-") as tmp:
        try:
            CASES[case](Env(os.path.abspath(quotactl), root, lib, tmp))
        except Skipped as why:
            print(f"skipped: {why}")
            return SKIP
        except Failed as why:
            print(f"FAILED: {why}", file=sys.stderr)
            return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: MIT
"""What the registry tests do with diyc: pull/push/login and read back what the store
says (image inspect, image ls), registries.conf and auth files to hand it, and the checks
every test repeats (the fully qualified name printed, no secret printed, nothing left in
the store)."""

import base64
import json
import os
import re
from pathlib import Path

import diyctest as dt

HEX64 = re.compile(r"[0-9a-f]{64}")
PULL_TIMEOUT = 180


def pull(store, ref, *args, env=None, timeout=PULL_TIMEOUT):
    return store.diyc("pull", *args, ref, env=env, timeout=timeout)


def last_line(res):
    lines = res.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def pull_ok(store, ref, *args, env=None, name=None, timeout=PULL_TIMEOUT):
    """A pull that must work and print the fully qualified NAME (default REF) last."""
    res = dt.assert_ok(pull(store, ref, *args, env=env, timeout=timeout))
    want = name or ref
    assert last_line(res) == want, f"pull should print {want!r} as its last line\n" + dt.describe(res)
    assert "\x1b" not in res.stderr, "progress escapes on stderr, which is not a terminal\n" + dt.describe(res)
    return res


def push(store, image, *args, dest=None, env=None, timeout=PULL_TIMEOUT):
    return store.diyc("push", *args, image, *([dest] if dest else []), env=env, timeout=timeout)


def image(store, ref):
    """`diyc image inspect REF`[0]."""
    data = dt.json_out(store.diyc("image", "inspect", ref))
    assert isinstance(data, list) and len(data) == 1, data
    return data[0]


def image_id(store, ref):
    return image(store, ref)["Id"].split(":", 1)[-1]


def ls_digests(store):
    """`diyc image ls --digests` as [{column: value}] (columns by the header's words)."""
    res = dt.assert_ok(store.diyc("image", "ls", "--digests"))
    lines = res.stdout.splitlines()
    assert lines, dt.describe(res)
    header = lines[0]
    cols = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    out = []
    for line in lines[1:]:
        row = {}
        for i, (start, name) in enumerate(cols):
            end = cols[i + 1][0] if i + 1 < len(cols) else None
            row[name] = line[start:end].strip()
        out.append(row)
    return out


def has_image(store, ref):
    return store.diyc("image", "inspect", ref).returncode == 0


def write_conf(path, text):
    Path(path).write_text(text)
    return {"CONTAINERS_REGISTRIES_CONF": str(path)}


def insecure_conf(path, *hosts, head=""):
    """A registries.conf that marks HOSTS insecure (http, no verification); HEAD: top lines."""
    text = head + "\n" + "".join(f'[[registry]]\nlocation = "{h}"\ninsecure = true\n\n' for h in hosts)
    return write_conf(path, text)


def auth_json(path, entries, mode=0o600, **top):
    """An auth file {"auths": {KEY: {"auth": base64(user:pass)} or {"identitytoken": ...}}}."""
    auths = {}
    for key, v in entries.items():
        if isinstance(v, tuple):
            auths[key] = {"auth": base64.b64encode(f"{v[0]}:{v[1]}".encode()).decode()}
        else:
            auths[key] = v
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"auths": auths, **top}))
    os.chmod(path, mode)
    return path


def read_auth(path):
    return json.loads(Path(path).read_text())


def assert_no_secret(res, *secrets):
    """None of SECRETS (nor user:secret in base64 forms) appears in RES's outputs."""
    text = (res.stdout if isinstance(res.stdout, str) else res.stdout.decode(errors="replace")) + \
           (res.stderr if isinstance(res.stderr, str) else res.stderr.decode(errors="replace"))
    for s in secrets:
        if not s:
            continue
        assert s not in text, "a secret was printed\n" + dt.describe(res)
        b = base64.b64encode(s.encode()).decode().rstrip("=")
        assert b[:-2] not in text, "a secret was printed in base64\n" + dt.describe(res)


def store_leftovers(s):
    """What a finished, failed or interrupted pull may not leave in store S: anything in
    tmp/, a half-made layer (layers/.tmp-*)."""
    out = []
    for sub, pred in (("tmp", lambda n: True), ("layers", lambda n: n.startswith("."))):
        try:
            out += [f"{sub}/{n}" for n in os.listdir(s.data / sub) if pred(n)]
        except FileNotFoundError:
            pass
    return sorted(out)


def layer_dirs(s):
    try:
        return sorted(n for n in os.listdir(s.data / "layers") if not n.startswith("."))
    except FileNotFoundError:
        return []


def run_cat(store, ref, path, *args, env=None):
    """`diyc run --rm ARGS REF cat PATH`'s output (checked)."""
    res = dt.assert_ok(store.diyc("run", "--rm", "--net=none", *args, ref, "cat", path, env=env, timeout=PULL_TIMEOUT))
    return res.stdout

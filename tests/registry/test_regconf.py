# SPDX-License-Identifier: MIT
# Names through registries.conf (CONTAINERS_REGISTRIES_CONF, or $XDG_CONFIG_HOME's):
# unqualified-search-registries, short-name-mode (never a prompt without a terminal),
# aliases, insecure, blocked, and mirrors with pull-from-mirror; docker.io names pulled
# from a loopback mirror, as `diyc run docker.io/library/alpine` would be.
import socket

import pytest

import diycreg as dr
import diyctest as dt


def closed_port():
    """A port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def conf(store, tmp_path, text):
    env = dr.write_conf(tmp_path / "reg.conf", text)
    store.env.update(env)
    return env


def test_insecure_registry_needs_no_flag(store, http_reg, tmp_path):
    conf(store, tmp_path, f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    dr.pull_ok(store, f"{http_reg.host}/library/busybox:amd64")


def test_http_registry_without_insecure_fails(store, http_reg):
    dt.assert_error(dr.pull(store, f"{http_reg.host}/library/busybox:amd64"), http_reg.host)


def test_blocked_registry(store, http_reg, tmp_path):
    conf(store, tmp_path, f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\nblocked = true\n')
    mark = http_reg.mark()
    dt.assert_error(dr.pull(store, f"{http_reg.host}/library/busybox:amd64"), "blocked")
    assert http_reg.access_since(mark) == []


def test_search_registry_for_short_name(store, http_reg, tmp_path):
    conf(store, tmp_path, f'unqualified-search-registries = ["{http_reg.host}"]\nshort-name-mode = "enforcing"\n'
                          f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    dr.pull_ok(store, "busybox:amd64", name=f"{http_reg.host}/busybox:amd64")


def test_short_name_tries_search_registries_in_order(store, http_reg, tmp_path):
    """permissive: the first registry that has it (a registry that refuses the connection
    comes first)."""
    dead = f"127.0.0.1:{closed_port()}"
    conf(store, tmp_path, f'unqualified-search-registries = ["{dead}", "{http_reg.host}"]\n'
                          f'short-name-mode = "permissive"\n'
                          f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n'
                          f'[[registry]]\nlocation = "{dead}"\ninsecure = true\n')
    dr.pull_ok(store, "busybox:amd64", name=f"{http_reg.host}/busybox:amd64")


def test_enforcing_ambiguous_short_name_never_prompts(store, http_reg, tmp_path):
    dead = f"127.0.0.1:{closed_port()}"
    conf(store, tmp_path, f'unqualified-search-registries = ["{dead}", "{http_reg.host}"]\n'
                          f'short-name-mode = "enforcing"\n'
                          f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    res = dr.pull(store, "busybox:amd64", timeout=30)
    dt.assert_error(res, ("short", "ambiguous", "terminal", "tty"))


def test_no_search_registries(store, tmp_path):
    """No search registry: docker's normalisation (docker.io/library/busybox), unreachable
    here, or podman's refusal; either way at once and clearly."""
    conf(store, tmp_path, 'unqualified-search-registries = []\nshort-name-mode = "enforcing"\n')
    dt.assert_error(dr.pull(store, "busybox:amd64", timeout=30), ("docker.io", "short", "search", "unqualified"))


def test_alias(store, http_reg, tmp_path):
    conf(store, tmp_path, f'[aliases]\n"mybox" = "{http_reg.host}/library/busybox"\n'
                          f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    dr.pull_ok(store, "mybox:amd64", name=f"{http_reg.host}/library/busybox:amd64")


def test_docker_io_from_a_mirror(store, http_reg, tmp_path, busybox_images):
    """docker.io names, qualified or short (with docker.io as the search registry), come from
    a mirror on loopback: docker.io itself is never reached."""
    conf(store, tmp_path, 'unqualified-search-registries = ["docker.io"]\n'
                          '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n'
                          f'[[registry.mirror]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    dr.pull_ok(store, "docker.io/library/busybox:amd64")
    assert dr.image_id(store, "docker.io/library/busybox:amd64") == busybox_images["amd64"].image_id
    dr.pull_ok(store, "busybox:v2s2", name="docker.io/library/busybox:v2s2")
    out = dt.assert_ok(store.diyc("run", "--rm", "--net=none", "docker.io/library/busybox:amd64", "cat", "/etc/diyc-image"))
    assert out.stdout == "busybox amd64\n"


def test_mirror_down_falls_back_to_the_registry(store, http_reg, tmp_path):
    dead = f"127.0.0.1:{closed_port()}"
    conf(store, tmp_path, f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n'
                          f'[[registry.mirror]]\nlocation = "{dead}"\ninsecure = true\n')
    dr.pull_ok(store, f"{http_reg.host}/library/busybox:amd64")


def test_mirror_digest_only(store, http_reg, tmp_path, busybox_images):
    """pull-from-mirror = "digest-only": a tag goes to the (dead) registry, a digest to the
    mirror."""
    dead = f"127.0.0.1:{closed_port()}"
    conf(store, tmp_path, f'[[registry]]\nlocation = "{dead}"\ninsecure = true\n'
                          f'[[registry.mirror]]\nlocation = "{http_reg.host}"\ninsecure = true\n'
                          f'pull-from-mirror = "digest-only"\n')
    dt.assert_error(dr.pull(store, f"{dead}/library/busybox:amd64", timeout=60), dead)
    d = busybox_images["amd64"].digest
    dt.assert_ok(dr.pull(store, f"{dead}/library/busybox@{d}"))


def test_mirror_with_path_prefix(store, http_reg, tmp_path):
    dead = f"127.0.0.1:{closed_port()}"
    conf(store, tmp_path, f'[[registry]]\nprefix = "{dead}/lib"\nlocation = "{dead}/library"\ninsecure = true\n'
                          f'[[registry.mirror]]\nlocation = "{http_reg.host}/library"\ninsecure = true\n')
    dr.pull_ok(store, f"{dead}/lib/busybox:amd64")


def test_conf_in_xdg_config_home(store, http_reg, tmp_path):
    cfg = tmp_path / "xdg"
    (cfg / "containers").mkdir(parents=True)
    (cfg / "containers" / "registries.conf").write_text(
        f'[aliases]\n"xdgbox" = "{http_reg.host}/library/busybox"\n'
        f'[[registry]]\nlocation = "{http_reg.host}"\ninsecure = true\n')
    store.env.pop("CONTAINERS_REGISTRIES_CONF", None)
    dr.pull_ok(store, "xdgbox:amd64", env={"XDG_CONFIG_HOME": str(cfg)},
               name=f"{http_reg.host}/library/busybox:amd64")


@pytest.mark.parametrize("text,needle", [
    ("unqualified-search-registries = [\"a\"\n", "reg.conf"),
    ("[[registry]]\nlocation = 5\n", "reg.conf"),
    ("short-name-mode = \"sometimes\"\n", "sometimes"),
])
def test_malformed_conf_is_named(store, tmp_path, text, needle):
    conf(store, tmp_path, text)
    dt.assert_error(dr.pull(store, "127.0.0.1:1/x:1", "--tls-verify=false"), needle)

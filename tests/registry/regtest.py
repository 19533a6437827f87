# SPDX-License-Identifier: MIT
"""Helpers of the registry tests: real registries on loopback and what they serve.

- CA: a test certificate authority made by openssl, and a server certificate for
  127.0.0.1, 127.0.0.2 and localhost signed by it.
- Registry: Debian's /usr/bin/docker-registry (CNCF distribution 2.8.2) on 127.0.0.1 with
  a config file and a temporary storage directory, in three modes: "http" (anonymous),
  "htpasswd" (https, bcrypt users) and "token" (https, `auth: token` with TokenServer).
- TokenServer: the token service distribution's `auth: token` needs (https, JWTs signed
  with python3-jwt), with per-user grants, Basic auth on GET, the OAuth2 POST
  (password and refresh_token grants, form bodies, chunked or not), and a record of every
  request it saw.
- Test images built here as OCI layouts (tarfile, hashlib, json; no diyc): busybox for
  amd64 and arm64, an index of both, a Debian rootfs in 3 layers (gzip or zstd); and
  skopeo to push them.

The hostile registry (scripted answers) is hostile.py. Run as a program,
`regtest.py verify` starts each registry, pushes and inspects with skopeo, and checks the
token server's grants: a check by hand of all of this without pytest."""

import base64
import fnmatch
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REGISTRY_BIN = os.environ.get("DIYC_DOCKER_REGISTRY", "/usr/bin/docker-registry")
FIXTURES = Path(os.environ.get("DIYC_REGISTRY_FIXTURES", "/var/cache/diyc-registry-fixtures"))
HOST_BUSYBOX = os.environ.get("BUSYBOX", "/bin/busybox")
SERVICE = "diyc-test-registry"
ISSUER = "diyc-test-issuer"
# fixed times, so that the same inputs give the same digests
EPOCH = 1700000000
CREATED = "2023-11-14T22:13:20Z"

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
MT_OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
ACCESS_RE = re.compile(r'^\S+ - \S+ \[[^]]*\] "(\w+) (\S+) HTTP/[\d.]+" (\d+) \S+ "[^"]*" "([^"]*)"', re.M)
ACCEPT_ALL = ", ".join([MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_MANIFEST])

# the registries running (children of the test process that the leak checks leave alone)
SERVER_PIDS = set()

DEFAULT_USERS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
# token grants: user (None: anonymous) -> [(repository pattern, actions)]
DEFAULT_GRANTS = {
    "alice": [("*", ["pull", "push"])],
    "bob": [("*", ["pull"])],
    None: [("public/*", ["pull"])],
}


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def run(argv, timeout=300, env=None, check=True, input=None):
    res = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout, env=env,
                         input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({res.returncode}):\n"
                           f"{res.stdout.decode(errors='replace')}{res.stderr.decode(errors='replace')}")
    return res


# -- a test CA --------------------------------------------------------------------------

class CA:
    """A CA (ca.crt, ca.key) and a server certificate (server.crt, server.key) for
    127.0.0.1, 127.0.0.2 and localhost, made by openssl in DIRECTORY (kept if there)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.crt"
        self.key = self.dir / "ca.key"
        self.server_cert = self.dir / "server.crt"
        self.server_key = self.dir / "server.key"
        if not self.server_cert.exists():
            self._make()

    def _make(self):
        d = self.dir
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "30", "-subj", "/CN=diyc test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", self.server_key, "-out", d / "server.csr", "-subj", "/CN=127.0.0.1"])
        (d / "server.ext").write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost\n")
        run(["openssl", "x509", "-req", "-in", d / "server.csr", "-CA", self.cert, "-CAkey", self.key,
             "-CAcreateserial", "-out", self.server_cert, "-days", "30", "-extfile", d / "server.ext"])
        for p in (self.cert, self.server_cert, self.server_key, self.key):
            os.chmod(p, 0o644)

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx

    def client_context(self):
        return ssl.create_default_context(cafile=str(self.cert))

    def cert_dir(self):
        """A directory with only ca.crt, for skopeo's and podman's --cert-dir."""
        d = self.dir / "cert-dir"
        if not (d / "ca.crt").exists():
            d.mkdir(exist_ok=True)
            shutil.copy(self.cert, d / "ca.crt")
        return d

    def install_certs_d(self, home, hostport):
        """Makes HOME/.config/containers/certs.d/HOSTPORT/ca.crt (where diyc and podman look)."""
        d = Path(home) / ".config" / "containers" / "certs.d" / hostport
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.cert, d / "ca.crt")
        return d


def htpasswd_file(path, users):
    """An htpasswd file of bcrypt hashes (htpasswd -B, what distribution accepts)."""
    lines = []
    for user, pw in users.items():
        res = run(["htpasswd", "-nbB", "-C", "4", user, pw])
        lines.append(res.stdout.decode().strip())
    Path(path).write_text("\n".join(lines) + "\n")
    return path


# -- plain HTTP helpers ------------------------------------------------------------------

def basic_auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def http(url, method="GET", headers=None, data=None, ctx=None, timeout=30, follow=True):
    """(status, headers as a dict of lowercase names, body) of one request; errors are answers."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    handlers = [urllib.request.HTTPSHandler(context=ctx)] if ctx else []
    if not follow:
        handlers.append(_NoRedirect())
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# -- the token server --------------------------------------------------------------------

def libtrust_kid(public_key):
    """libtrust's key id: base32 of the first 30 bytes of sha256 of the DER
    SubjectPublicKeyInfo, in colon-separated groups of 4 (what distribution matches `kid` to)."""
    from cryptography.hazmat.primitives import serialization
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def _read_body(handler):
    """The request body, from Content-Length or chunked transfer-encoding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        out = b""
        while True:
            line = handler.rfile.readline(1024)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += handler.rfile.read(size)
            handler.rfile.readline(16)
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n) if n else b""


def parse_scopes(values):
    """[(name, [actions])] of repository scopes (`repository:NAME:a,b`; several per value
    when space-separated, as the OAuth2 POST sends them)."""
    out = []
    for v in values:
        for s in v.split():
            parts = s.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            out.append((":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]))
    return out


class TokenServer:
    """distribution's token service for the tests, https on 127.0.0.1 with the test CA's
    server certificate. Tokens: ES256 JWTs whose `kid` is the libtrust id of the key in
    self.bundle (the registry's rootcertbundle).

    users: {name: password}; grants: {name or None: [(fnmatch pattern, actions)]}.
    self.requests: what it was sent ({method, path, query, headers, form, user, granted}).
    self.expires_in: lifetime of the tokens it gives (seconds)."""

    def __init__(self, workdir, ca, users=None, grants=None, service=SERVICE, issuer=ISSUER,
                 expires_in=300):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import datetime
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = ca
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.grants = dict(DEFAULT_GRANTS if grants is None else grants)
        self.service, self.issuer, self.expires_in = service, issuer, expires_in
        self.requests = []
        self.refresh_tokens = {}
        self.lock = threading.Lock()
        self.fail_next = []      # statuses to answer the next requests with (scripted failures)
        # knobs for token lifetimes and scopes: issued_at this many seconds in the past (the
        # JWT itself stays valid: a client must renew by issued_at + expires_in, not by
        # a 401), and the next grant_nothing tokens granting no action at all (the
        # registry then answers 401 insufficient_scope)
        self.issued_at_skew = 0
        self.grant_nothing = 0
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diyc test token signer")])
        now = datetime.datetime.utcnow()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(key, hashes.SHA256()))
        self.key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
        self.bundle = self.dir / "token-signer.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.kid = libtrust_kid(key.public_key())
        self.port = None
        self.httpd = None

    @property
    def realm(self):
        return f"https://127.0.0.1:{self.port}/token"

    def allowed(self, user, repo):
        acts = set()
        for pattern, actions in self.grants.get(user, []):
            if fnmatch.fnmatchcase(repo, pattern):
                acts.update(actions)
        return acts

    def make_token(self, user, scopes, lifetime=None):
        import jwt
        now = int(time.time())
        access = []
        for repo, actions in scopes:
            ok = [a for a in actions if a in self.allowed(user, repo) or
                  (a == "*" and {"pull", "push"} <= self.allowed(user, repo))]
            access.append({"type": "repository", "name": repo, "actions": ok})
        with self.lock:
            if self.grant_nothing > 0:
                self.grant_nothing -= 1
                access = [dict(a, actions=[]) for a in access]
        claims = {"iss": self.issuer, "sub": user or "", "aud": self.service, "exp": now + (lifetime or self.expires_in),
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        return jwt.encode(claims, self.key_pem, algorithm="ES256", headers={"kid": self.kid}), access

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, status, obj, extra=None):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _record(self, **kw):
                u = urllib.parse.urlsplit(self.path)
                rec = {"method": self.command, "path": u.path, "query": urllib.parse.parse_qs(u.query),
                       "headers": {k.lower(): v for k, v in self.headers.items()}, **kw}
                with server.lock:
                    server.requests.append(rec)
                return rec

            def _basic_user(self):
                """(user, ok): user None when no Authorization; ok False for wrong credentials."""
                h = self.headers.get("Authorization", "")
                if not h:
                    return None, True
                if not h.startswith("Basic "):
                    return None, False
                try:
                    user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
                except ValueError:
                    return None, False
                return user, server.users.get(user) == pw and pw != ""

            def _scripted_failure(self, rec):
                with server.lock:
                    status = server.fail_next.pop(0) if server.fail_next else None
                if status:
                    rec["answered"] = status
                    self._answer(status, {"errors": [{"code": "UNAVAILABLE", "message": "scripted failure"}]})
                return status

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                rec = self._record(form=None)
                if self._scripted_failure(rec):
                    return
                if u.path != "/token":
                    return self._answer(404, {"errors": [{"code": "NOT_FOUND", "message": "no such path"}]})
                user, ok = self._basic_user()
                rec["user"] = user
                if not ok:
                    rec["answered"] = 401
                    return self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                                        {"WWW-Authenticate": 'Basic realm="diyc-test-token"'})
                if q.get("service", [server.service])[0] != server.service:
                    rec["answered"] = 400
                    return self._answer(400, {"errors": [{"code": "INVALID", "message": "unknown service"}]})
                tok, access = server.make_token(user, parse_scopes(q.get("scope", [])))
                rec["granted"], rec["answered"] = access, 200
                out = {"token": tok, "access_token": tok, "expires_in": server.expires_in,
                       "issued_at": server.issued_at()}
                if user and q.get("offline_token", [""])[0] == "true":
                    out["refresh_token"] = server._new_refresh(user)
                self._answer(200, out)

            def do_POST(self):
                u = urllib.parse.urlsplit(self.path)
                body = _read_body(self)
                form = urllib.parse.parse_qs(body.decode(errors="replace"))
                rec = self._record(form=form, chunked="chunked" in self.headers.get("Transfer-Encoding", ""))
                if self._scripted_failure(rec):
                    return
                if u.path != "/token":
                    return self._answer(404, {"error": "not_found"})
                f = {k: v[0] for k, v in form.items()}
                grant = f.get("grant_type")
                user = None
                if grant == "password":
                    user = f.get("username")
                    if not user or server.users.get(user) != f.get("password"):
                        rec["answered"] = 401
                        return self._answer(401, {"error": "invalid_grant"})
                elif grant == "refresh_token":
                    user = server.refresh_tokens.get(f.get("refresh_token", ""))
                    if not user:
                        rec["answered"] = 401
                        return self._answer(401, {"error": "invalid_grant"})
                else:
                    rec["answered"] = 400
                    return self._answer(400, {"error": "unsupported_grant_type"})
                rec["user"] = user
                if f.get("service", server.service) != server.service:
                    rec["answered"] = 400
                    return self._answer(400, {"error": "invalid_request"})
                tok, access = server.make_token(user, parse_scopes(form.get("scope", [])))
                rec["granted"], rec["answered"] = access, 200
                out = {"access_token": tok, "expires_in": server.expires_in, "token_type": "Bearer",
                       "scope": " ".join(form.get("scope", [])),
                       "issued_at": server.issued_at()}
                if grant == "refresh_token":
                    out["refresh_token"] = f["refresh_token"]
                elif f.get("access_type") == "offline":
                    out["refresh_token"] = server._new_refresh(user)
                self._answer(200, out)

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        # the handshake happens in the handler's thread (on the first read), so one client
        # that never finishes it cannot block the accepting loop
        self.httpd.socket = self.ca.server_context().wrap_socket(self.httpd.socket, server_side=True,
                                                                 do_handshake_on_connect=False)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def issued_at(self):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - self.issued_at_skew))

    def _new_refresh(self, user):
        t = "rt-" + secrets.token_urlsafe(16)
        with self.lock:
            self.refresh_tokens[t] = user
        return t

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def clear(self):
        """Forgets the requests and resets the scripted behaviours (failures, knobs)."""
        with self.lock:
            self.requests.clear()
            self.fail_next.clear()
            self.issued_at_skew = 0
            self.grant_nothing = 0

    def token_for(self, user, password, scope):
        """A token from this server the way a client asks for one (GET with Basic auth)."""
        q = urllib.parse.urlencode({"service": self.service, "scope": scope})
        headers = {"Authorization": basic_auth(user, password)} if user else {}
        st, _, body = http(f"{self.realm}?{q}", headers=headers, ctx=self.ca.client_context())
        if st != 200:
            raise RuntimeError(f"token server answered {st}: {body!r}")
        return json.loads(body)["token"]


# -- the registry ------------------------------------------------------------------------

class Registry:
    """Debian's docker-registry on 127.0.0.1:free port. mode: "http" (anonymous),
    "htpasswd" (https, users), "token" (https, TokenServer). Use start() and stop(), or
    as a context manager."""

    def __init__(self, workdir, mode="http", ca=None, users=None, token_server=None):
        assert mode in ("http", "htpasswd", "token")
        self.dir = Path(workdir)
        self.mode = mode
        self.ca = ca
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.token = token_server
        self.proc = None
        self.port = None
        if mode != "http" and ca is None:
            raise ValueError("https modes need a CA")
        if mode == "token" and token_server is None:
            raise ValueError("mode token needs a TokenServer")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self):
        return "http" if self.mode == "http" else "https"

    @property
    def url(self):
        return f"{self.scheme}://{self.host}"

    @property
    def tls(self):
        return self.mode != "http"

    def ref(self, name):
        return f"{self.host}/{name}"

    def _config(self):
        storage = self.dir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        c = ["version: 0.1",
             "log:", "  level: info", "  formatter: text", "  accesslog:", "    disabled: false",
             "storage:", "  filesystem:", f"    rootdirectory: {storage}",
             "  delete:", "    enabled: true", "  maintenance:", "    uploadpurging:", "      enabled: false",
             "http:", f"  addr: 127.0.0.1:{self.port}", f"  secret: {secrets.token_hex(16)}",
             "  headers:", "    X-Content-Type-Options: [nosniff]"]
        if self.tls:
            c += ["  tls:", f"    certificate: {self.ca.server_cert}", f"    key: {self.ca.server_key}"]
        if self.mode == "htpasswd":
            hp = htpasswd_file(self.dir / "htpasswd", self.users)
            c += ["auth:", "  htpasswd:", "    realm: diyc-test-registry", f"    path: {hp}"]
        elif self.mode == "token":
            c += ["auth:", "  token:", f"    realm: {self.token.realm}", f"    service: {self.token.service}",
                  f"    issuer: {self.token.issuer}", f"    rootcertbundle: {self.token.bundle}"]
        path = self.dir / "config.yml"
        path.write_text("\n".join(c) + "\n")
        return path

    def start(self, timeout=20):
        self.dir.mkdir(parents=True, exist_ok=True)
        # distribution maps every REGISTRY_* variable onto its configuration (a
        # REGISTRY_AUTH_FILE meant for podman crashes it)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        for attempt in range(3):
            self.port = free_port()
            cfg = self._config()
            self.log = self.dir / "registry.log"
            logf = open(self.log, "ab")
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf, env=env, start_new_session=True)
            logf.close()
            SERVER_PIDS.add(self.proc.pid)
            if self._wait_ready(timeout):
                return self
            self.stop()
            if "address already in use" not in self.log_tail():
                break
        raise RuntimeError(f"docker-registry ({self.mode}) did not answer on {self.url}/v2/:\n{self.log_tail()}")

    def _wait_ready(self, timeout):
        ctx = self.ca.client_context() if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                st, _, _ = http(self.url + "/v2/", ctx=ctx, timeout=2)
                if st in (200, 401):
                    return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        return False

    def log_tail(self, n=30):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except (OSError, AttributeError):
            return ""

    def access(self):
        """The requests it answered, from its access log: [{method, path, status, agent}]."""
        out = []
        try:
            text = self.log.read_text(errors="replace")
        except (OSError, AttributeError):
            return out
        for m in ACCESS_RE.finditer(text):
            out.append({"method": m.group(1), "path": m.group(2), "status": int(m.group(3)), "agent": m.group(4)})
        return out

    def mark(self):
        """Where the access log is now, for access_since()."""
        return len(self.access())

    def access_since(self, mark, pattern=None, method=None):
        rx = re.compile(pattern) if pattern else None
        return [a for a in self.access()[mark:]
                if (rx is None or rx.search(a["path"])) and (method is None or a["method"] == method)]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            SERVER_PIDS.discard(self.proc.pid)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- talking to it directly (to check what a client pushed) --

    def auth_header(self, user=None, scope=None):
        if user is None or self.mode == "http":
            return {}
        if self.mode == "htpasswd":
            return {"Authorization": basic_auth(user, self.users[user])}
        return {"Authorization": "Bearer " + self.token.token_for(user, self.users[user], scope)}

    def request(self, path, method="GET", user=None, accept=ACCEPT_ALL, scope=None, data=None, headers=None):
        h = {"Accept": accept} if accept else {}
        h.update(self.auth_header(user, scope))
        h.update(headers or {})
        return http(self.url + path, method=method, headers=h, data=data,
                    ctx=self.ca.client_context() if self.tls else None)

    def manifest(self, name, ref, user=None, accept=ACCEPT_ALL):
        """(digest, media type, parsed manifest) as the registry serves it."""
        st, h, body = self.request(f"/v2/{name}/manifests/{ref}", user=user, accept=accept,
                                   scope=f"repository:{name}:pull")
        if st != 200:
            raise RuntimeError(f"GET manifest {name}:{ref}: {st} {body[:300]!r}")
        return h.get("docker-content-digest") or sha256(body), h.get("content-type"), json.loads(body)

    def tags(self, name, user=None):
        st, _, body = self.request(f"/v2/{name}/tags/list", user=user, scope=f"repository:{name}:pull")
        return json.loads(body).get("tags") or [] if st == 200 else []

    def skopeo_dest_args(self, user=None):
        return _skopeo_tls_args(self, "dest", user)

    def skopeo_args(self, user=None):
        """For skopeo inspect and podman pull/push (no --src-/--dest- prefix)."""
        return _skopeo_tls_args(self, "", user)


def _skopeo_tls_args(reg, side, user):
    p = f"--{side}-" if side else "--"
    args = [f"{p}cert-dir", str(reg.ca.cert_dir())] if reg.tls else [f"{p}tls-verify=false"]
    if user:
        args += [f"{p}creds", f"{user}:{reg.users[user]}"]
    return args


# -- skopeo ------------------------------------------------------------------------------

def skopeo_env(home=None):
    """An environment for skopeo/podman: no REGISTRY_AUTH_FILE of the caller's, a HOME of
    its own when given."""
    env = {k: v for k, v in os.environ.items() if k != "REGISTRY_AUTH_FILE"}
    if home:
        env["HOME"] = str(home)
    return env


def skopeo_push(layout, ref_name, reg, dest, user=None, all=False, compress=None, fmt=None,
                timeout=300, env=None):
    """skopeo copy oci:LAYOUT:REF_NAME docker://HOST:PORT/DEST (all: the whole index;
    compress: --dest-compress-format; fmt: --format oci|v2s2)."""
    argv = ["skopeo", "--insecure-policy", "copy", "--quiet", "--retry-times", "2", *reg.skopeo_dest_args(user)]
    if all:
        argv.append("--all")
    if compress:
        argv += ["--dest-compress", "--dest-compress-format", compress]
    if fmt:
        argv += ["--format", fmt]
    argv += [f"oci:{layout}:{ref_name}", f"docker://{reg.host}/{dest}"]
    run(argv, timeout=timeout, env=env or skopeo_env())


def skopeo_inspect(reg, ref, user=None, raw=False, config=False, env=None):
    argv = ["skopeo", "inspect", *reg.skopeo_args(user)]
    if raw:
        argv.append("--raw")
    if config:
        argv.append("--config")
    argv.append(f"docker://{reg.host}/{ref}")
    res = run(argv, timeout=120, env=env or skopeo_env())
    return json.loads(res.stdout) if not raw else res.stdout


class Podman:
    """podman with a storage of its own (vfs below BASE) and a short runroot and
    XDG_RUNTIME_DIR in /tmp (podman refuses a runroot over 50 characters). close() removes
    it all and ends the pause process rootless podman leaves running."""

    def __init__(self, base):
        import tempfile
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.gettempdir()
        self.short = Path(tempfile.mkdtemp(prefix="pm.", dir=tmp if len(tmp) < 30 else "/tmp"))
        os.chmod(self.short, 0o700)
        self.env = skopeo_env(self.base / "home")
        (self.base / "home").mkdir(exist_ok=True)
        self.env.update(XDG_RUNTIME_DIR=str(self.short / "xdg"), XDG_CONFIG_HOME=str(self.base / "home" / ".config"),
                        XDG_DATA_HOME=str(self.base / "home" / ".local" / "share"))
        (self.short / "xdg").mkdir(mode=0o700)
        self.global_args = ["--root", str(self.base / "storage"), "--runroot", str(self.short / "run"),
                            "--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"]

    def __call__(self, *args, timeout=180, check=True):
        return run(["podman", *self.global_args, *args], env=self.env, timeout=timeout, check=check)

    def close(self):
        if os.geteuid() != 0:
            self("unshare", "rm", "-rf", str(self.base / "storage"), check=False, timeout=60)
        else:
            shutil.rmtree(self.base / "storage", ignore_errors=True)
        for pidfile in (self.short / "xdg" / "libpod" / "tmp" / "pause.pid",):
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.short, ignore_errors=True)


# -- OCI layouts built here ---------------------------------------------------------------

class Layout:
    """An OCI image layout being written: blobs by digest, and index.json entries named by
    org.opencontainers.image.ref.name."""

    def __init__(self, directory):
        self.dir = Path(directory)
        (self.dir / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.dir / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        # a layout opened again (build_small into a session layout) keeps the refs it has
        index = self.dir / "index.json"
        self.entries = json.loads(index.read_text())["manifests"] if index.exists() else []

    def blob(self, data, media_type, **extra):
        d = sha256(data)
        p = self.dir / "blobs" / "sha256" / d[7:]
        if not p.exists():
            p.write_bytes(data)
        return {"mediaType": media_type, "digest": d, "size": len(data), **extra}

    def json_blob(self, obj, media_type, **extra):
        return self.blob(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode(), media_type, **extra)

    def add_ref(self, desc, name):
        d = dict(desc)
        d["annotations"] = {**d.get("annotations", {}), "org.opencontainers.image.ref.name": name}
        self.entries = [e for e in self.entries
                        if e.get("annotations", {}).get("org.opencontainers.image.ref.name") != name]
        self.entries.append(d)
        (self.dir / "index.json").write_text(json.dumps(
            {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": self.entries}, sort_keys=True))

    def read_blob(self, digest):
        return (self.dir / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


class Image:
    """What a built image is: its manifest descriptor and the digests the tests compare."""

    def __init__(self, layout, ref_name, manifest_desc, manifest, config, diff_ids, platform=None):
        self.layout, self.ref_name = layout, ref_name
        self.desc, self.manifest, self.config = manifest_desc, manifest, config
        self.digest = manifest_desc["digest"]
        self.config_digest = manifest["config"]["digest"]
        self.image_id = self.config_digest.split(":", 1)[1]
        self.diff_ids = diff_ids
        self.layers = manifest["layers"]
        self.platform = platform

    def __repr__(self):
        return f"<Image {self.layout}:{self.ref_name} {self.digest}>"


def tar_layer(entries):
    """A deterministic tar of ENTRIES: (name, kind, data or target, mode), kind in
    d (directory), f (file), l (symlink), h (hard link); owner root, fixed mtime."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = EPOCH, 0, 0, "root", "root"
            ti.mode = mode
            if kind == "d":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "f":
                data = data.encode() if isinstance(data, str) else data
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                t.addfile(ti)
            else:
                raise ValueError(kind)
    return buf.getvalue()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if how == "zstd":
        return run(["zstd", "-q", "-c", "-3", "-T0", "--no-progress"], input=data).stdout
    if how is None:
        return data
    raise ValueError(how)


LAYER_MT = {"gzip": MT_OCI_LAYER_GZIP, "zstd": MT_OCI_LAYER_ZSTD, None: MT_OCI_LAYER_TAR}


def busybox_applets():
    """The applet paths of the host's busybox (the arm64 one is the same version)."""
    res = run([HOST_BUSYBOX, "--list-full"])
    return sorted(set(res.stdout.decode().split()))


def busybox_entries(busybox_bytes, applets, marker):
    """A root filesystem as tools/mkimage-busybox makes it, plus /etc/diyc-image (MARKER)."""
    e = [(d, "d", None, 0o755) for d in ("bin", "dev", "etc", "home", "proc", "sbin", "sys",
                                         "usr", "usr/bin", "usr/sbin", "var")]
    e += [("root", "d", None, 0o700), ("tmp", "d", None, 0o1777), ("var/tmp", "d", None, 0o1777)]
    e.append(("bin/busybox", "f", busybox_bytes, 0o755))
    for a in applets:
        if a == "bin/busybox":
            continue
        if a.startswith("bin/"):
            e.append((a, "l", "busybox", 0o777))
        elif a.startswith("sbin/"):
            e.append((a, "l", "../bin/busybox", 0o777))
        elif a.startswith(("usr/bin/", "usr/sbin/")):
            e.append((a, "l", "../../bin/busybox", 0o777))
    e += [("etc/passwd", "f", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644),
          ("etc/group", "f", "root:x:0:\nnogroup:x:65534:\n", 0o644),
          ("etc/hostname", "f", "", 0o644), ("etc/hosts", "f", "", 0o644), ("etc/resolv.conf", "f", "", 0o644),
          ("etc/diyc-image", "f", marker + "\n", 0o644)]
    return e


def image_config(arch, diff_ids, cmd, variant=None, history=None, env=None, labels=None):
    c = {"architecture": arch, "os": "linux", "created": CREATED,
         "config": {"Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                    "Cmd": cmd},
         "rootfs": {"type": "layers", "diff_ids": diff_ids},
         "history": history or [{"created": CREATED, "created_by": "diyc tests/registry/regtest.py"}
                                for _ in diff_ids]}
    if variant:
        c["variant"] = variant
    if labels:
        c["config"]["Labels"] = labels
    return c


def build_image(layout, ref_name, layer_tars, arch="amd64", variant=None, compression="gzip",
                cmd=("sh",), labels=None, annotations=None):
    """Writes an image of LAYER_TARS (uncompressed tars, bottom first) into LAYOUT and names
    it REF_NAME (None: not named, for an index to refer to). Returns an Image."""
    diff_ids = [sha256(t) for t in layer_tars]
    layers = [layout.blob(compress(t, compression), LAYER_MT[compression]) for t in layer_tars]
    config = image_config(arch, diff_ids, list(cmd), variant=variant, labels=labels)
    cdesc = layout.json_blob(config, MT_OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "config": cdesc, "layers": layers}
    if annotations:
        manifest["annotations"] = annotations
    platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
    mdesc = layout.json_blob(manifest, MT_OCI_MANIFEST)
    if ref_name:
        layout.add_ref(mdesc, ref_name)
    return Image(layout, ref_name, mdesc, manifest, config, diff_ids, platform)


def build_index(layout, ref_name, images):
    """An OCI image index of IMAGES (each with its platform), named REF_NAME."""
    idx = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
           "manifests": [{**im.desc, "platform": im.platform} for im in images]}
    desc = layout.json_blob(idx, MT_OCI_INDEX)
    layout.add_ref(desc, ref_name)
    return desc, idx


def arm64_busybox_path():
    p = FIXTURES / "busybox-arm64" / "busybox"
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing: run tests/registry/prepare as root")
    return p


def build_busybox(layout_dir):
    """busybox images in one layout: "amd64" and "arm64" (one layer each), and "latest", an
    OCI index of both (arm64 with variant v8, as docker's images have it). Returns
    {"amd64": Image, "arm64": Image, "index": (desc, index)}."""
    layout = Layout(layout_dir)
    applets = busybox_applets()
    amd = build_image(layout, "amd64", [tar_layer(busybox_entries(Path(HOST_BUSYBOX).read_bytes(), applets,
                                                                  "busybox amd64"))], arch="amd64")
    arm = build_image(layout, "arm64", [tar_layer(busybox_entries(arm64_busybox_path().read_bytes(), applets,
                                                                  "busybox arm64"))], arch="arm64", variant="v8")
    index = build_index(layout, "latest", [amd, arm])
    return {"amd64": amd, "arm64": arm, "index": index, "layout": layout}


def build_small(layout_dir, ref_name, files, base=None, compression="gzip", arch="amd64"):
    """A small image: BASE's layers (an Image of the same layout, or None) plus one layer with
    FILES ({path: text}). For tests that need many distinct images quickly."""
    layout = Layout(layout_dir)
    tars = []
    if base is not None:
        for l in base.layers:
            tars.append(_decompress(layout.read_blob(l["digest"]) if (layout.dir / "blobs" / "sha256" / l["digest"][7:]).exists()
                                    else base.layout.read_blob(l["digest"]), l["mediaType"]))
    entries = []
    dirs = set()
    for path in sorted(files):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, "d", None, 0o755))
        entries.append((path, "f", files[path], 0o644))
    tars.append(tar_layer(entries))
    return build_image(layout, ref_name, tars, arch=arch, compression=compression)


def _decompress(data, media_type):
    if media_type.endswith("gzip"):
        return gzip.decompress(data)
    if media_type.endswith("zstd"):
        return run(["zstd", "-q", "-d", "-c"], input=data).stdout
    return data


def debian_rootfs_tar():
    p = FIXTURES / "debian-rootfs.tar"
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing: run tests/registry/prepare as root")
    return p


def split_debian(tar_path):
    """The Debian rootfs as 3 uncompressed layer tars: usr/lib*, usr/share, the rest. Each
    layer has the directory entries above its files; a hard link whose target fell in
    another layer becomes a copy."""
    groups = [[], [], []]

    def group(name):
        if name.startswith("usr/lib"):
            return 0
        if name.startswith("usr/share"):
            return 1
        return 2

    with tarfile.open(tar_path) as src:
        members = [m for m in src.getmembers() if m.name not in (".", "./")]
        for m in members:
            m.name = m.name[2:] if m.name.startswith("./") else m.name
            if m.islnk() and m.linkname.startswith("./"):
                m.linkname = m.linkname[2:]
        dirs = {m.name.rstrip("/"): m for m in members if m.isdir()}
        where = {m.name: group(m.name) for m in members}
        bufs = [io.BytesIO() for _ in groups]
        outs = [tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) for b in bufs]
        have = [set() for _ in groups]
        for m in members:
            g = where[m.name]
            parts = m.name.rstrip("/").split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in have[g] and d in dirs:
                    outs[g].addfile(dirs[d])
                    have[g].add(d)
            if m.isdir():
                if m.name.rstrip("/") in have[g]:
                    continue
                have[g].add(m.name.rstrip("/"))
                outs[g].addfile(m)
            elif m.isreg():
                outs[g].addfile(m, src.extractfile(m))
            elif m.islnk() and where.get(m.linkname) != g:
                target = src.getmember("./" + m.linkname)
                copy = tarfile.TarInfo(m.name)
                for a in ("mode", "uid", "gid", "uname", "gname", "mtime"):
                    setattr(copy, a, getattr(target, a))
                copy.size = target.size
                outs[g].addfile(copy, src.extractfile(target))
            else:
                outs[g].addfile(m)
        for o in outs:
            o.close()
    return [b.getvalue() for b in bufs]


def build_debian(layout_dir, compressions=("gzip", "zstd"), tars=None):
    """The Debian image in 3 layers, one image per compression, named after it ("gzip",
    "zstd") in one layout. Returns {compression: Image}."""
    layout = Layout(layout_dir)
    tars = tars or split_debian(debian_rootfs_tar())
    return {c: build_image(layout, c, tars, cmd=("bash",), compression=c) for c in compressions}


# -- verification by hand: python3 regtest.py verify [WORKDIR] -----------------------------

def _verify(workdir):
    """Starts each registry, pushes the images with skopeo, inspects them, and checks the
    token server's grants; prints what it did and how long it took."""
    t0 = time.monotonic()
    w = Path(workdir)
    w.mkdir(parents=True, exist_ok=True)
    ca = CA(w / "ca")
    bb = build_busybox(w / "busybox")
    print(f"busybox layouts built: amd64 {bb['amd64'].digest} arm64 {bb['arm64'].digest} "
          f"({time.monotonic() - t0:.1f}s)")
    t1 = time.monotonic()
    deb = build_debian(w / "debian")
    print(f"debian layouts built: gzip {deb['gzip'].digest} zstd {deb['zstd'].digest} ({time.monotonic() - t1:.1f}s)")
    tok = TokenServer(w / "token", ca).start()
    regs = [Registry(w / "reg-http", "http"), Registry(w / "reg-htpasswd", "htpasswd", ca=ca),
            Registry(w / "reg-token", "token", ca=ca, token_server=tok)]
    try:
        for r in regs:
            t1 = time.monotonic()
            r.start()
            print(f"{r.mode}: {r.url} ready in {time.monotonic() - t1:.2f}s")
        for r in regs:
            user = None if r.mode == "http" else "alice"
            t1 = time.monotonic()
            skopeo_push(bb["layout"].dir, "latest", r, "library/busybox:latest", user=user, all=True)
            skopeo_push(bb["layout"].dir, "amd64", r, "library/busybox:amd64", user=user)
            skopeo_push(bb["layout"].dir, "amd64", r, "library/busybox:v2s2", user=user, fmt="v2s2")
            skopeo_push(deb["gzip"].layout.dir, "gzip", r, "library/debian:gzip", user=user)
            skopeo_push(deb["zstd"].layout.dir, "zstd", r, "library/debian:zstd", user=user)
            print(f"{r.mode}: skopeo pushed busybox (index, amd64, v2s2) and debian (gzip, zstd) in "
                  f"{time.monotonic() - t1:.2f}s")
            idx = json.loads(skopeo_inspect(r, "library/busybox:latest", user=user, raw=True))
            assert idx["mediaType"] == MT_OCI_INDEX, idx
            assert {m["digest"] for m in idx["manifests"]} == {bb["amd64"].digest, bb["arm64"].digest}, idx
            for tag, im in (("amd64", bb["amd64"]), ("gzip", deb["gzip"]), ("zstd", deb["zstd"])):
                name = "library/busybox" if tag == "amd64" else "library/debian"
                d, mt, m = r.manifest(name, tag, user=user)
                assert d == im.digest, (tag, d, im.digest)
                info = skopeo_inspect(r, f"{name}:{tag}", user=user)
                assert info["Digest"] == im.digest, info
            d, mt, m = r.manifest("library/busybox", "v2s2", user=user)
            assert mt == MT_DOCKER_MANIFEST, mt
            print(f"{r.mode}: skopeo inspect and direct GETs give the built digests")
        # the token server: alice pushes, bob only pulls, anonymous nothing outside public/
        r = regs[2]
        for user, want in (("alice", 201), ("bob", 401)):
            tokn = tok.token_for(user, DEFAULT_USERS[user], "repository:library/pushtest:pull,push")
            st, h, body = http(f"{r.url}/v2/library/pushtest/blobs/uploads/", method="POST",
                               headers={"Authorization": "Bearer " + tokn}, data=b"", ctx=ca.client_context())
            assert (st == 202) == (want == 201), (user, st, body)
            print(f"token: {user} starting an upload: {st}")
        tokn = tok.token_for("bob", DEFAULT_USERS["bob"], "repository:library/busybox:pull")
        st, _, _ = r.request("/v2/library/busybox/manifests/amd64", headers={"Authorization": "Bearer " + tokn})
        assert st == 200, st
        tokn = tok.token_for(None, None, "repository:library/busybox:pull")
        st, _, _ = r.request("/v2/library/busybox/manifests/amd64", headers={"Authorization": "Bearer " + tokn})
        assert st == 401, st
        print("token: bob pulls (200), anonymous is refused outside public/ (401)")
        try:
            tok.token_for("alice", "wrong", "repository:library/busybox:pull")
            raise AssertionError("a wrong password got a token")
        except RuntimeError:
            pass
        # a token signed by another key is refused
        other = TokenServer(w / "token-other", ca)
        bad = other.make_token("alice", [("library/busybox", ["pull"])])[0]
        st, _, _ = r.request("/v2/library/busybox/manifests/amd64", headers={"Authorization": "Bearer " + bad})
        assert st == 401, st
        print("token: a token signed by an unknown key is refused (401)")
    finally:
        for r in regs:
            r.stop()
        tok.stop()
    print(f"verify: all good in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    import sys
    import tempfile
    if len(sys.argv) >= 2 and sys.argv[1] == "verify":
        wd = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="diyc-regverify.")
        _verify(wd)
    else:
        print("usage: regtest.py verify [WORKDIR]", file=sys.stderr)
        sys.exit(2)

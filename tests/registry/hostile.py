# SPDX-License-Identifier: MIT
"""A hostile registry for the tests: a python HTTP(S) server on loopback whose /v2/ answers
each test scripts, for what the real registry never does (wrong digests and sizes,
truncated and endless bodies, huge or deeply nested manifests, redirect loops, redirects
to another host, a token realm on http, a lying Content-Range, a layer with `../`, a
slow-loris, 500 then success, 429 with Retry-After, distribution's JSON errors).

By default it serves what serve_image() was given like a well-behaved anonymous registry;
a test then overrides single paths with on(METHOD, REGEX, HANDLER) (the last match
wins). A handler gets the request (a Req: .send(), .error(), .trickle(), ...) and the
regex match. Every request is recorded in .requests (method, path, headers, time) before
it is answered; .active and .max_active count the blob GETs in flight (to see parallel
downloads)."""

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import regtest as rt

# distribution's error codes by status, for error()
ERROR_CODES = {
    401: ("UNAUTHORIZED", "authentication required"),
    403: ("DENIED", "requested access to the resource is denied"),
    404: ("MANIFEST_UNKNOWN", "manifest unknown"),
    429: ("TOOMANYREQUESTS", "too many requests"),
    500: ("UNKNOWN", "unknown error"),
    503: ("UNAVAILABLE", "service unavailable"),
}


class Req:
    """One request being answered (a thin layer over BaseHTTPRequestHandler)."""

    def __init__(self, handler, server):
        self.h = handler
        self.server = server
        self.method = handler.command
        self.path = handler.path
        self.headers = {k.lower(): v for k, v in handler.headers.items()}

    def send(self, status, body=b"", headers=None, ctype=None, length=None):
        """A whole answer; LENGTH: the Content-Length to claim (default: the body's)."""
        if isinstance(body, str):
            body = body.encode()
        self.h.send_response(status)
        if ctype:
            self.h.send_header("Content-Type", ctype)
        self.h.send_header("Content-Length", str(len(body) if length is None else length))
        self.h.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        if self.method != "HEAD":
            self.h.wfile.write(body)
            self.h.wfile.flush()
        if length is not None and length != len(body):
            self.close()

    def error(self, status, code=None, message=None, headers=None, detail=None):
        """distribution's JSON error body: {"errors": [{code, message, detail}]}."""
        dc, dm = ERROR_CODES.get(status, ("UNKNOWN", "error"))
        body = json.dumps({"errors": [{"code": code or dc, "message": message or dm, "detail": detail}]})
        self.send(status, body, headers, ctype="application/json; charset=utf-8")

    def start(self, status, headers=None, length=None, ctype="application/octet-stream"):
        """Only the status line and headers (the body follows with write() or trickle());
        LENGTH None: no Content-Length, the connection closes at the end."""
        self.h.send_response(status)
        self.h.send_header("Content-Type", ctype)
        if length is not None:
            self.h.send_header("Content-Length", str(length))
        else:
            self.h.send_header("Connection", "close")
            self.h.close_connection = True
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.end_headers()
        self.h.wfile.flush()

    def write(self, data):
        """False when the client went away or the server stops."""
        if self.server.stopping.is_set():
            return False
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, OSError):
            return False

    def trickle(self, data, every, step=1):
        """Writes DATA STEP bytes at a time, one write every EVERY seconds."""
        for i in range(0, len(data), step):
            if not self.write(data[i:i + step]):
                return False
            if self.server.stopping.wait(every):
                return False
        return True

    def close(self):
        """Ends the connection now (a truncated answer)."""
        self.h.close_connection = True
        try:
            self.h.wfile.flush()
            self.h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Hostile:
    """The scripted registry. host: the address to bind (127.0.0.1; 127.0.0.2 is "another
    host" on loopback). ca: a regtest.CA for https, or None for http."""

    def __init__(self, host="127.0.0.1", ca=None):
        self.bind = host
        self.ca = ca
        self.routes = []
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.blobs = {}          # digest -> bytes
        self.manifests = {}      # (name, ref) -> (bytes, media type)
        self.active = 0
        self.max_active = 0
        self.port = None
        self.httpd = None

    @property
    def host(self):
        return f"{self.bind}:{self.port}"

    @property
    def url(self):
        return f"{'https' if self.ca else 'http'}://{self.host}"

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                req = Req(self, server)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n and n < (1 << 24) else b""
                with server.lock:
                    server.requests.append({"method": self.command, "path": self.path, "headers": req.headers,
                                            "time": time.monotonic(), "body_len": len(body)})
                    routes = list(server.routes)
                for method, rx, fn in reversed(routes):
                    if method not in (self.command, "*") and not (method == "GET" and self.command == "HEAD"):
                        continue
                    m = rx.fullmatch(self.path.split("?", 1)[0])
                    if m:
                        return server._call(fn, req, m)
                server._default(req)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.port = rt.free_port(self.bind)
        self.httpd = ThreadingHTTPServer((self.bind, self.port), Handler)
        self.httpd.daemon_threads = True
        if self.ca:
            self.httpd.socket = self.ca.server_context().wrap_socket(self.httpd.socket, server_side=True,
                                                                     do_handshake_on_connect=False)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.stopping.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _call(self, fn, req, m):
        blob = "/blobs/" in req.path and req.method == "GET"
        if blob:
            with self.lock:
                self.active += 1
                self.max_active = max(self.max_active, self.active)
        try:
            fn(req, m)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if blob:
                with self.lock:
                    self.active -= 1

    # -- scripting -----------------------------------------------------------------------

    def on(self, method, pattern, fn):
        """Answers METHOD (GET also answers HEAD; "*": any) on paths matching PATTERN (a
        regex of the whole path, without the query) with FN(req, match)."""
        with self.lock:
            self.routes.append((method, re.compile(pattern), fn))

    def reset(self):
        with self.lock:
            self.routes.clear()
            self.requests.clear()
            self.blobs.clear()
            self.manifests.clear()
            self.active = self.max_active = 0

    def requests_to(self, pattern, method=None):
        rx = re.compile(pattern)
        with self.lock:
            return [r for r in self.requests if rx.search(r["path"]) and (method is None or r["method"] == method)]

    def serve_image(self, name, tag, image):
        """Serves a regtest.Image (manifest, config, layers from its layout) as NAME:TAG and
        by digest."""
        layout = image.layout
        mbytes = layout.read_blob(image.digest)
        self.manifests[(name, tag)] = (mbytes, image.desc["mediaType"])
        self.manifests[(name, image.digest)] = (mbytes, image.desc["mediaType"])
        for d in [image.config_digest] + [l["digest"] for l in image.layers]:
            self.blobs[d] = layout.read_blob(d)
        return image

    def serve_raw_manifest(self, name, ref, body, media_type):
        self.manifests[(name, ref)] = (body, media_type)

    def blob_path(self, name, digest):
        return rf"/v2/{re.escape(name)}/blobs/{re.escape(digest)}"

    def manifest_path(self, name, ref):
        return rf"/v2/{re.escape(name)}/manifests/{re.escape(ref)}"

    def _default(self, req):
        p = req.path.split("?", 1)[0]
        if p in ("/v2", "/v2/"):
            return req.send(200, "{}", ctype="application/json")
        m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", p)
        if m and req.method in ("GET", "HEAD"):
            got = self.manifests.get((m.group(1), m.group(2)))
            if not got:
                return req.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            body, mt = got
            return req.send(200, body, {"Docker-Content-Digest": rt.sha256(body)}, ctype=mt)
        m = re.fullmatch(r"/v2/(.+)/blobs/(sha256:[0-9a-f]{64})", p)
        if m and req.method in ("GET", "HEAD"):
            data = self.blobs.get(m.group(2))
            if data is None:
                return req.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return serve_blob(req, data)
        return req.error(404, "NAME_UNKNOWN", "repository name not known to registry")


def serve_blob(req, data, ctype="application/octet-stream"):
    """A blob as distribution serves it, honouring `Range: bytes=N-` with a 206."""
    rng = re.fullmatch(r"bytes=(\d+)-", req.headers.get("range", ""))
    if rng and int(rng.group(1)) < len(data):
        start = int(rng.group(1))
        return req.send(206, data[start:], {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}",
                                            "Docker-Content-Digest": rt.sha256(data)}, ctype=ctype)
    req.send(200, data, {"Docker-Content-Digest": rt.sha256(data), "Accept-Ranges": "bytes"}, ctype=ctype)


# -- canned misbehaviours: each returns a handler for Hostile.on() ------------------------

def answer(status, body=b"", headers=None, ctype="application/json"):
    return lambda req, m: req.send(status, body, headers, ctype=ctype)


def json_error(status, code=None, message=None, headers=None):
    return lambda req, m: req.error(status, code, message, headers)


def corrupted(data):
    """The same number of bytes with the last one changed: a wrong digest."""
    bad = data[:-1] + bytes([data[-1] ^ 0xFF])
    return lambda req, m: req.send(200, bad, ctype="application/octet-stream")


def resized(data, extra):
    """EXTRA more bytes (or fewer, when negative) than the descriptor says, honestly sized."""
    body = data + b"\0" * extra if extra > 0 else data[:extra]
    return lambda req, m: req.send(200, body, ctype="application/octet-stream")


def truncated(data, keep, times=None, then=None):
    """Claims the full length, sends KEEP bytes, closes. After TIMES such answers, THEN (a
    handler) answers instead (default: the blob, honouring Range)."""
    count = [0]

    def fn(req, m):
        if times is not None and count[0] >= times:
            return (then or (lambda r, mm: serve_blob(r, data)))(req, m)
        count[0] += 1
        req.start(200, length=len(data))
        req.write(data[:keep])
        req.close()
    return fn


def endless(chunk=b"\0" * 65536, length=None):
    """A body that never ends (until the client leaves): with no Content-Length, or claiming
    LENGTH."""
    def fn(req, m):
        req.start(200, length=length)
        while req.write(chunk):
            pass
    return fn


def huge_manifest(size=100 << 20, media_type=rt.MT_OCI_MANIFEST, declare_length=True):
    """A manifest of SIZE bytes (valid JSON: a long string field), streamed."""
    head = b'{"schemaVersion":2,"mediaType":"' + media_type.encode() + b'","padding":"'
    tail = b'"}'
    pad = size - len(head) - len(tail)

    def fn(req, m):
        req.start(200, length=size if declare_length else None, ctype=media_type)
        if not req.write(head):
            return
        block = b"a" * (1 << 20)
        left = pad
        while left > 0:
            if not req.write(block[:min(left, len(block))]):
                return
            left -= len(block)
        req.write(tail)
    return fn


def nested_manifest(depth=100000, media_type=rt.MT_OCI_MANIFEST):
    body = (b'{"schemaVersion":2,"mediaType":"' + media_type.encode() + b'","config":' +
            b"[" * depth + b"]" * depth + b"}")
    return lambda req, m: req.send(200, body, {"Docker-Content-Digest": rt.sha256(body)}, ctype=media_type)


def redirect(location, status=307):
    return lambda req, m: req.send(status, b"", {"Location": location})


def slow_loris(data, every=1.0, step=1, headers_too=False):
    """Answers one byte (STEP) every EVERY seconds; HEADERS_TOO: the status line and headers
    trickle the same way."""
    def fn(req, m):
        if headers_too:
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode()
            req.h.close_connection = True
            if not req.trickle(head, every, step):
                return
        else:
            req.start(200, length=len(data))
        req.trickle(data, every, step)
    return fn


def fail_then(statuses, then, headers=None):
    """Answers with each of STATUSES in turn (distribution's JSON error bodies; HEADERS on
    each, e.g. Retry-After), then with THEN."""
    left = list(statuses)
    lock = threading.Lock()

    def fn(req, m):
        with lock:
            st = left.pop(0) if left else None
        if st is None:
            return then(req, m)
        req.error(st, headers=headers)
    return fn


def lying_range(data, keep, start_offset=None, body_from=None):
    """The first GET is cut after KEEP bytes; a resumed GET (`Range: bytes=N-`) gets a 206
    whose Content-Range says START_OFFSET (default N: the truth) while its body starts at
    BODY_FROM (default N). Without Range: the whole blob."""
    def fn(req, m):
        rng = re.fullmatch(r"bytes=(\d+)-", req.headers.get("range", ""))
        if not rng:
            if not getattr(fn, "cut", False):
                fn.cut = True
                req.start(200, length=len(data))
                req.write(data[:keep])
                return req.close()
            return serve_blob(req, data)
        n = int(rng.group(1))
        claimed = n if start_offset is None else start_offset
        frm = n if body_from is None else body_from
        body = data[frm:]
        req.send(206, body, {"Content-Range": f"bytes {claimed}-{claimed + len(body) - 1}/{len(data)}"},
                 ctype="application/octet-stream")
    return fn


def basic_auth_required(user, password, then, realm="hostile"):
    """Answers 401 with a Basic challenge unless the request carries USER:PASSWORD."""
    want = rt.basic_auth(user, password)

    def fn(req, m):
        if req.headers.get("authorization") != want:
            return req.error(401, headers={"WWW-Authenticate": f'Basic realm="{realm}"'})
        return then(req, m)
    return fn


def bearer_challenge(realm, service="hostile", scope=None):
    """401 with a Bearer challenge naming REALM (e.g. an http:// token endpoint)."""
    def fn(req, m):
        if req.headers.get("authorization", "").startswith("Bearer "):
            return req.error(403)
        ch = f'Bearer realm="{realm}",service="{service}"'
        if scope:
            ch += f',scope="{scope}"'
        req.error(401, headers={"WWW-Authenticate": ch})
    return fn


def token_endpoint(prefix="hostile-token-"):
    """A token realm for the hostile registry: answers each GET with a new token
    (PREFIX + a count: 1, 2, ...); fn.issued lists them."""
    lock = threading.Lock()

    def fn(req, m):
        with lock:
            fn.issued.append(f"{prefix}{len(fn.issued) + 1}")
            tok = fn.issued[-1]
        req.send(200, json.dumps({"token": tok, "expires_in": 300}), ctype="application/json")
    fn.issued = []
    return fn


def bearer_required(realm, then, refuse=None, service="hostile", scope=None):
    """Answers 401 with a Bearer challenge unless a Bearer token comes; with one, REFUSE
    (a predicate of the token, or None) may still answer 401 with `error="insufficient_scope"`
    (what distribution answers for a token without the action); otherwise THEN."""
    def fn(req, m):
        h = req.headers.get("authorization", "")
        ch = f'Bearer realm="{realm}",service="{service}"' + (f',scope="{scope}"' if scope else "")
        if not h.startswith("Bearer "):
            return req.error(401, headers={"WWW-Authenticate": ch})
        if refuse and refuse(h[7:]):
            return req.error(401, "UNAUTHORIZED", "insufficient scope",
                             headers={"WWW-Authenticate": ch + ',error="insufficient_scope"'})
        return then(req, m)
    return fn


class Proxy:
    """A recording HTTP proxy in front of a real registry (plain http on 127.0.0.1): every
    request is forwarded as it came (Host kept, so the registry's Locations point back
    here) and recorded in .requests with its headers and body length, which the
    registry's access log lacks (e.g. a PATCH's Content-Range)."""

    def __init__(self, target_host):
        self.target = target_host
        self.requests = []
        self.lock = threading.Lock()
        self.port = None
        self.httpd = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        import http.client
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                body = rt._read_body(self) if self.command not in ("GET", "HEAD") else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("transfer-encoding", "content-length", "connection")}
                with proxy.lock:
                    proxy.requests.append({"method": self.command, "path": self.path,
                                           "headers": {k.lower(): v for k, v in self.headers.items()},
                                           "body_len": len(body)})
                conn = http.client.HTTPConnection(proxy.target, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body if self.command not in ("GET", "HEAD") else None,
                                 headers={**headers, "Content-Length": str(len(body))}
                                 if self.command not in ("GET", "HEAD") else headers)
                    r = conn.getresponse()
                    data = r.read()
                    self.send_response(r.status, r.reason)
                    for k, v in r.getheaders():
                        if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                            self.send_header(k, v)
                    # a HEAD's Content-Length is the blob's size, which it does not send
                    self.send_header("Content-Length", r.getheader("Content-Length", "0") if self.command == "HEAD"
                                     else str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.port = rt.free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

"""Python peer of the mTLS e2e harness: FastAPI under uvicorn (server), httpx (client).

    peer.py server --dir D [--port 0] [--allowed a,b] [--no-client-auth] [--max-seconds 600]
        HTTPS GET /api/data on 127.0.0.1. Prints "READY <port>" once serving; exits on
        stdin EOF, SIGTERM or after --max-seconds.
    peer.py client --url https://NAME:PORT/api/data --connect 127.0.0.1:PORT --ca F
        [--cert F --key F] --servername NAME [--timeout 8] [--tls 1.2|1.3]
        Prints one JSON line: {"outcome": ..., "status": ..., "body": ..., "error": ...}.

uvicorn (0.54) does not fill the ASGI TLS extension (scope["extensions"]["tls"]),
so the server uses an H11Protocol subclass that reads the verified peer
certificate from the transport (get_extra_info("ssl_object")) when the
connection is made and adds the extension to every request scope of that
connection; the app reads scope["extensions"]["tls"].
"""

import argparse
import asyncio
import json
import logging
import os
import socket
import ssl
import sys
import threading


def _name_value(rdns, key):
    for rdn in rdns or ():
        for k, v in rdn:
            if k == key:
                return v
    return None


def tls_extension(ssl_object):
    """ASGI TLS extension (https://asgi.readthedocs.io/en/latest/specs/tls.html) for one connection.

    client_cert_chain holds only the leaf: Python 3.11's ssl module does not expose
    the verified chain. "x_peer_cert" (non-standard) is ssl.getpeercert()'s dict.
    """
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    parsed = ssl_object.getpeercert() or {}
    cn = _name_value(parsed.get("subject"), "commonName")
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": f"CN={cn}" if cn else None,
        "client_cert_error": None,
        "tls_version": {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}.get(ssl_object.version()),
        "cipher_suite": None,
        "x_peer_cert": parsed,
    }


def server(args):
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from uvicorn.protocols.http.h11_impl import H11Protocol

    allowed = {c.strip() for c in (args.allowed or "").split(",") if c.strip()}
    app = FastAPI()

    @app.get("/api/data")
    async def data(request: Request):
        tls = request.scope.get("extensions", {}).get("tls")
        peer = (tls or {}).get("x_peer_cert") or {}
        cn = _name_value(peer.get("subject"), "commonName")
        uris = [v for k, v in peer.get("subjectAltName", ()) if k == "URI"]
        body = {"peer": "python", "cn": cn, "uris": uris}
        if args.no_client_auth:
            return body
        if tls is None or cn is None:
            return JSONResponse({**body, "error": "no client certificate"}, status_code=403)
        if cn not in allowed:
            return JSONResponse({**body, "error": "client not allowed"}, status_code=403)
        return body

    class TLSInfoH11Protocol(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            ext = tls_extension(transport.get_extra_info("ssl_object"))
            inner = self.app

            async def with_tls(scope, receive, send):
                if ext is not None:
                    scope.setdefault("extensions", {})["tls"] = ext
                await inner(scope, receive, send)

            self.app = with_tls

    d = args.dir
    config = uvicorn.Config(
        app,
        http=TLSInfoH11Protocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=1,
        ssl_certfile=os.path.join(d, "tls.crt"),
        ssl_keyfile=os.path.join(d, "tls.key"),
        ssl_ca_certs=None if args.no_client_auth else os.path.join(d, "ca.crt"),
        ssl_cert_reqs=ssl.CERT_NONE if args.no_client_auth else ssl.CERT_REQUIRED,
    )
    srv = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(64)

    def stop(why):
        print(f"python-server: stopping ({why})", file=sys.stderr, flush=True)
        srv.should_exit = True

    def watch_stdin(loop):
        try:  # os.read: no buffered-reader lock for interpreter shutdown to trip over
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        loop.call_soon_threadsafe(stop, "stdin closed")

    class HandshakeFailures(logging.Filter):
        """asyncio reports a failed TLS handshake only in debug mode, at DEBUG level."""

        def filter(self, record):
            if "handshake failed" not in record.getMessage().lower():
                return False
            exc = record.exc_info[1] if record.exc_info else None
            record.msg, record.args, record.exc_info, record.exc_text = f"TLS handshake failed: {exc!r}", None, None, None
            return True

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("python-server: %(message)s"))
    handler.addFilter(HandshakeFailures())
    alog = logging.getLogger("asyncio")
    alog.addHandler(handler)
    alog.setLevel(logging.DEBUG)
    alog.propagate = False

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        threading.Thread(target=watch_stdin, args=(loop,), daemon=True).start()
        loop.call_later(args.max_seconds, stop, "max-seconds reached")
        task = asyncio.create_task(srv.serve(sockets=[sock]))
        for _ in range(200):
            if srv.started or task.done():
                break
            await asyncio.sleep(0.05)
        if srv.started:
            print(f"READY {sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(main())


def classify(exc):
    """Walks the exception chain; returns the harness outcome for a failed request."""
    seen = []
    e = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    for e in seen:
        if isinstance(e, ssl.SSLCertVerificationError):
            return "tls_local"
    for e in seen:
        if isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            return "reset"  # the peer closed the connection without an alert
        if isinstance(e, ssl.SSLError):
            text = str(e).upper()
            if "ALERT" in text:
                return "tls_remote"
            return "tls_other"
    for e in seen:
        if isinstance(e, ConnectionRefusedError):
            return "connect_error"
        if isinstance(e, (ConnectionResetError, BrokenPipeError)):
            return "reset"
    import httpx

    for e in seen:
        if isinstance(e, httpx.TimeoutException):
            return "timeout"
        if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError)):
            return "reset"
    return "error"


def client(args):
    import httpx

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    out = {}
    try:
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
        host, port = args.connect.rsplit(":", 1)
        # Dial the loopback address; SNI and hostname verification use --servername
        # (httpcore's "sni_hostname" request extension feeds server_hostname to ssl).
        url = httpx.URL(args.url).copy_with(host=host, port=int(port))
        with httpx.Client(verify=ctx, timeout=args.timeout, trust_env=False) as hc:
            with hc.stream(
                "GET",
                url,
                headers={"Host": f"{args.servername}:{httpx.URL(args.url).port}", "Connection": "close"},
                extensions={"sni_hostname": args.servername},
            ) as r:
                out = {"outcome": "http", "status": r.status_code}
                stream = r.extensions.get("network_stream")
                sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
                if sslobj is not None:
                    out["tlsVersion"] = sslobj.version()
                    out["serverCN"] = _name_value((sslobj.getpeercert() or {}).get("subject"), "commonName")
                r.read()
                try:
                    out["body"] = r.json()
                except ValueError:
                    out["body"] = r.text[:65536]
    except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
        out = {"outcome": classify(exc), "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--dir", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--allowed", default="")
    s.add_argument("--no-client-auth", action="store_true")
    s.add_argument("--max-seconds", type=float, default=600)
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--connect", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--cert")
    c.add_argument("--key")
    c.add_argument("--servername", required=True)
    c.add_argument("--timeout", type=float, default=8)
    c.add_argument("--tls", choices=["1.2", "1.3"])
    a = p.parse_args()
    server(a) if a.mode == "server" else client(a)


if __name__ == "__main__":
    main()

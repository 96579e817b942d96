"""`cai review serve`'s core: check everything, bind the socket, print the URL, run uvicorn until stopped.

Everything a user can get wrong — the review file, a labels file beside it, `--host` with
`--no-token`, the token file, a port already in use — is an error naming it (exit 2) before the
server answers anything. The socket is bound here, not by uvicorn, so `--port 0` can print the port
it got and a port in use is a clear error. Ctrl-C stops it; every label is already on disk.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import uvicorn

from cai.errors import InputError
from cai.review.items import read_review
from cai.review.web.app import Settings, create_app
from cai.review.web.desk import Desk, check_label_files
from cai.review.web.security import LOOPBACK_NAMES
from cai.review.web.state import overlap_items

TOKEN_MIN = 16


@dataclass(frozen=True)
class ServeOptions:
    review: Path
    host: str = "127.0.0.1"
    port: int = 8765
    token_file: Path | None = None
    no_token: bool = False
    overlap: float = 0.2


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read --token-file {path}: {exc}") from None
    if len(token) < TOKEN_MIN or not token.isprintable() or any(char.isspace() for char in token):
        raise InputError(f"--token-file {path}: the token must be one word of at least {TOKEN_MIN} characters")
    return token


def resolve(host: str, port: int) -> tuple[socket.AddressFamily, tuple[str, int] | tuple[str, int, int, int]]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: {exc.strerror}") from None
    family, _, _, _, address = found[0]
    return family, address  # type: ignore[return-value]  # getaddrinfo's address is an IPv4 or IPv6 tuple


def bind(family: socket.AddressFamily, address: tuple[str, int] | tuple[str, int, int, int]) -> socket.socket:
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart right after a crash
    try:
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise InputError(f"cannot listen on {address[0]} port {address[1]}: {exc.strerror}") from None
    return listener


def urls(host: str, address: str, port: int, token: str | None) -> list[str]:
    """The address(es) to open: the host given, or this machine's name and 127.0.0.1 for a wildcard."""
    query = "" if token is None else f"?token={quote(token, safe='')}"
    wildcard = ipaddress.ip_address(address).is_unspecified
    names = [socket.gethostname(), "127.0.0.1"] if wildcard else [host]
    return [f"http://{f'[{name}]' if ':' in name else name}:{port}/{query}" for name in names]


def choose_token(options: ServeOptions, loopback: bool) -> str | None:
    if not options.no_token:
        return read_token(options.token_file) if options.token_file else secrets.token_urlsafe(24)
    if not loopback:
        raise InputError(f"--no-token needs a loopback --host (127.0.0.1, ::1, localhost), not {options.host}")
    if options.token_file is not None:
        raise InputError("--no-token and --token-file contradict each other: give one")
    return None


def serve(options: ServeOptions, say: Callable[[str], None]) -> None:
    """Validate, bind, announce the URL, then serve until Ctrl-C (or SIGTERM)."""
    items = read_review(options.review)
    files = check_label_files(options.review)
    family, address = resolve(options.host, options.port)
    loopback = ipaddress.ip_address(address[0]).is_loopback
    token = choose_token(options, loopback)
    listener = bind(family, address)
    port = listener.getsockname()[1]
    desk = Desk(options.review, items, options.overlap)
    shared = sum(overlap_items(len(items), options.overlap))
    say(f"{options.review}: {len(items)} items ({shared} for two reviewers), {len(files)} labels files beside it")
    for url in urls(options.host, address[0], port, token):
        say(f"open {url}")
    say("each click is appended and fsynced to REVIEW.labels.NAME.jsonl beside the review file; Ctrl-C stops")
    hosts = LOOPBACK_NAMES | {options.host} if loopback else None
    app = create_app(Settings(options.review, items, options.overlap, token, port, hosts), desk)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", proxy_headers=False)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        desk.close()
        listener.close()

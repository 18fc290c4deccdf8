"""Warden policy bundles: deterministic OPA bundles from `policies/`, signed in OPA's format.

Layout in the fleet repo: `policies/common/` (every capability) and `policies/<capability>/`
(that capability only) hold `.rego` modules and optional `data.json`. A capability's bundle is a
gzipped tar of those files plus `.manifest` (revision = content digest) and `.signatures.json`:
one compact JWS (RS256, deterministic PKCS#1 v1.5) whose payload lists every file's SHA-256, with
`.manifest` and `data.json` hashed over canonical JSON as OPA does (`v1/bundle/hash.go`).
The tarball is byte-identical for the same inputs: sorted entries, mtime 0, uid/gid 0, mode 0644,
gzip header without name or time. Signing is a CI step; rendering only needs the public key.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import posixpath
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipper_render.errors import Collector, Location, ValidationError
from skipper_render.generators import warden as sidecars
from skipper_render.generators.base import Context
from skipper_render.load import read_regular

if TYPE_CHECKING:
    from skipper_render.render import RenderResult

POLICIES = "policies"
MAX_BUNDLE_FILE = 64 * 1024 * 1024
STRUCTURED = {"data.json", ".manifest", ".signatures.json"}


def _canonical(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()  # as Go escapes them


def file_hash(name: str, content: bytes) -> str:
    """OPA's file digest: canonical JSON for structured files, raw bytes for the rest."""
    if name.rsplit("/", 1)[-1] in STRUCTURED:
        return hashlib.sha256(_canonical(json.loads(content))).hexdigest()
    return hashlib.sha256(content).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def collect(fleet: Path, capability: str) -> dict[str, bytes]:
    """The bundle files of `capability`: policies/common/* then policies/<capability>/*."""
    files: dict[str, bytes] = {}
    for part in ("common", capability):
        root = fleet / POLICIES / part
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            name = f"{part}/{path.relative_to(root).as_posix()}"
            if path.is_symlink():  # a link could carry anything (a CI's secrets) into a published bundle
                raise ValidationError.at(Location(f"{POLICIES}/{name}"), "a symlink in policies/ is never followed")
            if path.is_file() and (path.suffix == ".rego" or path.name == "data.json"):
                files[name] = read_regular(path, f"{POLICIES}/{name}", Location(f"{POLICIES}/{name}"), MAX_BUNDLE_FILE)
    if not files:
        where = Location(f"{POLICIES}/{capability}")
        raise ValidationError.at(
            where, f"no policies for {capability!r} in {POLICIES}/common or {POLICIES}/{capability}"
        )
    return files


def _crypto() -> Any:
    """The `cryptography` package, or a message saying how to install it."""
    try:
        import cryptography.hazmat.primitives.serialization as crypto
    except ImportError:
        raise ValidationError.at(
            Location("warden"), "Warden bundles need the warden extra: pip install 'skipper-render[warden]'"
        ) from None
    return crypto


def sign(files: dict[str, bytes], private_key_pem: bytes, key_id: str, scope: str | None) -> bytes:
    serialization = _crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    where = Location("--signing-key")
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except TypeError:
        raise ValidationError.at(where, "the key is encrypted: give an unencrypted PEM RSA private key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValidationError.at(where, "not a PEM RSA private key (a public key or another file?)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError.at(where, "the signing key must be an RSA private key (RS256)")
    payload: dict[str, Any] = {
        "files": [{"name": n, "hash": file_hash(n, c), "algorithm": "SHA-256"} for n, c in sorted(files.items())]
    }
    if scope:
        payload["scope"] = scope
    header = {"alg": "RS256", "kid": key_id, "typ": "JWT"}
    signing_input = f"{_b64(_canonical(header))}.{_b64(_canonical(payload))}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return _canonical({"signatures": [f"{signing_input}.{_b64(signature)}"]})


def build_all(result: RenderResult, private_key_pem: bytes) -> dict[str, bytes]:
    """The signed bundle of every enforcement point, keyed by its `bundle.resource` path: the MCP
    gateway's, and each capability's where a Warden sidecar decides for it (under Istio)."""
    settings = result.fleet.spec.security.warden
    if settings is None or settings.bundle is None or settings.signing is None:
        raise ValidationError.at(result.fleet.at(("security", "warden")), "security.warden needs bundle and signing")
    out = {}
    ctx = Context(result.fleet, "kubernetes", Collector())  # the generators' rule of who gets a Warden
    subjects = [cap.name for cap in result.fleet.capabilities] if sidecars.enforces_capabilities(ctx) else []
    gateway = result.fleet.spec.routing.mcpGateway
    if gateway is not None and gateway.enabled:
        subjects.append(sidecars.GATEWAY_SUBJECT)  # the gateway's Warden decides MCP tool calls
    for subject in subjects:
        resource = posixpath.normpath(settings.bundle.resource.replace("{capability}", subject))
        if resource.startswith(("/", "../")) or resource in (".", ".."):
            where = result.fleet.at(("security", "warden", "bundle", "resource"))
            raise ValidationError.at(where, f"bundle resource {resource!r} must stay inside --output-dir")
        out[resource] = build(result.root, subject, private_key_pem, settings.signing.keyId, settings.signing.scope)
    if not out:
        where = result.fleet.at(("security", "warden"))
        raise ValidationError.at(where, "nothing asks a Warden here (no MCP gateway, no Istio): no bundle to build")
    return out


def build(fleet: Path, capability: str, private_key_pem: bytes, key_id: str, scope: str | None) -> bytes:
    """The signed, byte-reproducible bundle of one capability."""
    files = collect(fleet, capability)
    revision = hashlib.sha256(b"".join(f"{n}\t{file_hash(n, c)}\n".encode() for n, c in sorted(files.items())))
    files[".manifest"] = _canonical({"revision": revision.hexdigest(), "metadata": {"capability": capability}})
    files[".signatures.json"] = sign(files, private_key_pem, key_id, scope)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(f"/{name}")
            info.size, info.mtime, info.mode, info.uid, info.gid = len(content), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(content))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def verify(bundle: bytes, public_key_pem: bytes, scope: str | None) -> list[str]:
    """OPA's verification rules (`v1/bundle/verify.go`); returns the problems found, [] when valid."""
    serialization = _crypto()
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as tar:
            files = {}
            for member in tar.getmembers():
                if member.isfile():
                    if member.size > MAX_BUNDLE_FILE:
                        return [f"{member.name}: over the {MAX_BUNDLE_FILE}-byte limit for a bundle file"]
                    files[member.name.lstrip("/")] = tar.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError):
        return ["not a gzipped tar bundle"]
    try:
        signatures = json.loads(files.pop(".signatures.json", b'{"signatures": []}'))["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            return [f"expected exactly one JWT, found {len(signatures) if isinstance(signatures, list) else 0}"]
        header_b64, payload_b64, signature_b64 = str(signatures[0]).split(".")
        payload = json.loads(_unb64(payload_b64))
    except (ValueError, KeyError, TypeError):
        return [".signatures.json is not an OPA bundle signature (one compact JWS)"]
    try:
        key = serialization.load_pem_public_key(public_key_pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return ["--public-key is not a PEM public key"]
    if not isinstance(key, rsa.RSAPublicKey):
        return ["the verification key must be an RSA public key"]
    try:
        key.verify(_unb64(signature_b64), f"{header_b64}.{payload_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return ["signature does not verify"]
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
        return ["the signed payload lists no files"]
    problems = [] if payload.get("scope") == scope else [f"scope {payload.get('scope')!r} is not {scope!r}"]
    entries = [f for f in payload["files"] if isinstance(f, dict)]
    listed = {str(f.get("name")): f.get("hash") for f in entries}
    for name, content in sorted(files.items()):
        if name not in listed:
            problems.append(f"file {name} not included in bundle signature")
            continue
        try:
            digest = file_hash(name, content)
        except ValueError:
            problems.append(f"{name}: not JSON")
            continue
        if listed[name] != digest:
            problems.append(f"{name}: digest mismatch")
    problems += [f"file {name} is signed but missing from the bundle" for name in sorted(set(listed) - set(files))]
    return problems

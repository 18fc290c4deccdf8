"""Warden: reproducible OPA bundles signed in OPA's format, and the OPA sidecar they feed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import FIXTURES

from skipper_plugin.cli import main
from skipper_render import render
from skipper_render.errors import ValidationError
from skipper_render.workflows import warden

SECURE = FIXTURES / "valid" / "secure"


def _keypair(tmp_path: Path, name: str = "k") -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / f"{name}.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_structured_files_hash_like_opa() -> None:
    # OPA v1/bundle/verify_test.go, TestVerifyBundleFile "bad_digest": {"revision": "quickbrownfaux"} -> MD5
    assert (
        hashlib.md5(warden._canonical({"revision": "quickbrownfaux"})).hexdigest() == "a005c38a509dc2d5a7407b9494efb2ad"
    )
    assert (
        warden.file_hash("a/data.json", b'{ "b": 1,\n "a": [1, 2] }')
        == hashlib.sha256(b'{"a":[1,2],"b":1}').hexdigest()
    )
    assert warden.file_hash("x.rego", b"package x\n") == hashlib.sha256(b"package x\n").hexdigest()


def test_bundles_are_reproducible_signed_and_verifiable(tmp_path: Path) -> None:
    private, public = _keypair(tmp_path)
    first = warden.build(SECURE, "shipyard", private.read_bytes(), "warden", "write")
    assert first == warden.build(SECURE, "shipyard", private.read_bytes(), "warden", "write")
    assert gzip.decompress(first)  # a plain gzip stream
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip header mtime 0
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
        names = {m.name.lstrip("/") for m in members}
        signatures = json.loads(tar.extractfile("/.signatures.json").read())  # type: ignore[union-attr]
    assert names == {
        ".manifest",
        ".signatures.json",
        "common/authz.rego",
        "shipyard/data.json",
        "shipyard/voyages.rego",
    }
    assert len(signatures["signatures"]) == 1
    assert warden.verify(first, public, "write") == []
    assert warden.verify(first, public, "read") == ["scope 'write' is not 'read'"]
    _, other = _keypair(tmp_path, "other")
    assert warden.verify(first, other, "write") == ["signature does not verify"]


def test_tampering_is_detected(tmp_path: Path) -> None:
    private, public = _keypair(tmp_path)
    bundle = warden.build(SECURE, "shipyard", private.read_bytes(), "warden", "write")
    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    files["/shipyard/voyages.rego"] += b"\n# allow everything\n"
    files["/extra.rego"] = b"package extra\n"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    assert warden.verify(raw.getvalue(), public, "write") == [
        "file extra.rego not included in bundle signature",
        "shipyard/voyages.rego: digest mismatch",
    ]


def test_cli_builds_one_bundle_per_enforcement_point(tmp_path: Path) -> None:
    private, _ = _keypair(tmp_path)
    out = tmp_path / "out"
    args = ["--env", "prod", "--signing-key", str(private), "--output-dir"]
    result = CliRunner().invoke(main, ["warden", "bundle", str(SECURE), *args, str(out)])
    assert result.exit_code == 0, result.stderr
    bundles = sorted(p.name for p in (out / "warden").iterdir())  # no mesh: only the gateway's Warden decides
    assert bundles == ["mcp-gateway.tar.gz"]
    meshed = tmp_path / "meshed"
    shutil.copytree(SECURE, meshed)
    manifest = meshed / "naftiko.fleet.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "    mcpGateway: {enabled: true}", "    mesh: istio\n    mcpGateway: {enabled: true}"
        )
    )
    result = CliRunner().invoke(main, ["warden", "bundle", str(meshed), *args, str(tmp_path / "out2")])
    assert result.exit_code == 0, result.stderr
    bundles = sorted(p.name for p in (tmp_path / "out2" / "warden").iterdir())  # Istio asks each capability's
    assert bundles == ["bearer.tar.gz", "mcp-gateway.tar.gz", "ping.tar.gz", "shipyard.tar.gz"]
    result = CliRunner().invoke(
        main, ["warden", "verify", str(out / "warden" / "mcp-gateway.tar.gz"), "--public-key", str(tmp_path / "k.pem")]
    )
    assert result.exit_code == 1  # a private key is not a verification key
    assert result.stdout == ""


def _pod(objects: Any, name: str) -> dict[str, Any]:
    deployment = next(o for o in objects if o["kind"] in ("Deployment", "Rollout") and o["metadata"]["name"] == name)
    return dict(deployment["spec"]["template"])


def test_the_gateway_warden_decides_tool_calls_and_verifies_with_the_public_key_only() -> None:
    objects = render(SECURE, "prod").objects
    config = yaml.safe_load(
        next(o for o in objects if o["metadata"]["name"] == "vault-fleet-mcp-gateway-warden")["data"]["config.yaml"]
    )
    assert config["bundles"]["mcp-gateway"]["resource"] == "warden/mcp-gateway.tar.gz"
    assert config["bundles"]["mcp-gateway"]["signing"] == {"keyid": "warden", "scope": "write"}
    assert config["keys"]["warden"]["key"] == (SECURE / "keys" / "warden.pub").read_text()
    assert config["services"]["audit"] == {
        "url": "https://audit.example.com",
        "credentials": {"bearer": {"token_path": "/var/run/secrets/warden-audit/token"}},  # never inline
    }
    assert config["labels"] == {"capability": "mcp-gateway", "environment": "prod", "fleet": "vault-fleet"}
    assert config["plugins"]["envoy_ext_authz_grpc"] == {"addr": "127.0.0.1:9191", "path": "envoy/authz/allow"}
    gateway = yaml.safe_load(
        next(o for o in objects if o["metadata"]["name"] == "vault-fleet-mcp-gateway" and o["kind"] == "ConfigMap")[
            "data"
        ]["config.yaml"]
    )
    ext_authz = gateway["binds"][0]["listeners"][0]["routes"][0]["policies"]["extAuthz"]
    assert (ext_authz["host"], ext_authz["failureMode"]) == ("127.0.0.1:9191", "deny")
    pod = _pod(objects, "vault-fleet-mcp-gateway")
    sidecar = next(c for c in pod["spec"]["containers"] if c["name"] == "warden")
    assert "--addr=127.0.0.1:8181" in sidecar["args"]  # OPA's API: not reachable from the namespace
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/health?plugins"
    assert pod["metadata"]["annotations"]["naftiko.io/warden-digest"]  # OPA reads its config at start only
    # Without Istio nothing would ask a capability's Warden: no sidecar, readiness waits on nothing.
    shipyard = _pod(objects, "shipyard")
    assert [c["name"] for c in shipyard["spec"]["containers"]] == ["ikanos"]
    assert "IKANOS_WARDEN_URL" not in yaml.safe_dump_all(objects)  # the engine reads no such variable
    assert "PRIVATE KEY" not in yaml.safe_dump_all(objects)


def test_under_istio_a_custom_policy_sends_each_request_to_the_capabilitys_warden(tmp_path: Path) -> None:
    fleet = shutil.copytree(SECURE, tmp_path / "fleet")
    manifest = fleet / "naftiko.fleet.yaml"
    manifest.write_text(manifest.read_text().replace("  routing:\n", "  routing:\n    mesh: istio\n", 1))
    objects = list(render(fleet, "prod").objects)
    custom = next(
        o for o in objects if o["kind"] == "AuthorizationPolicy" and o["metadata"]["name"] == "shipyard-warden"
    )
    assert custom["spec"]["action"] == "CUSTOM" and custom["spec"]["provider"] == {"name": "skipper-warden"}
    assert custom["spec"]["rules"] == [{"to": [{"operation": {"ports": ["3001", "3003", "3002"]}}]}]
    pod = _pod(objects, "shipyard")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["ikanos", "warden"]
    config = yaml.safe_load(
        next(o for o in objects if o["metadata"]["name"] == "shipyard-warden" and o["kind"] == "ConfigMap")["data"][
            "config.yaml"
        ]
    )
    assert (
        config["labels"]["capability"] == "shipyard"
        and config["bundles"]["shipyard"]["resource"] == "warden/shipyard.tar.gz"
    )


def test_a_private_key_in_the_fleet_is_refused(tmp_path: Path) -> None:
    fleet = shutil.copytree(SECURE, tmp_path / "fleet")
    private, _ = _keypair(tmp_path)
    (fleet / "keys" / "warden.pub").write_bytes(private.read_bytes())
    with pytest.raises(ValidationError, match="must be a PEM public key"):
        render(fleet, "prod")

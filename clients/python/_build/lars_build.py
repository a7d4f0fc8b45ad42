"""A build backend (PEP 517) of a few lines, so that `pip install clients/python` works offline and
with nothing but the standard library: no setuptools or wheel needed. It builds a pure-Python wheel
of the lars_client package, and an sdist of this directory."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Dict, List, Optional

NAME = "lars_client"
DIST = "lars_client"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as _f:
    VERSION = re.search(r'^version = "([^"]+)"', _f.read(), re.M).group(1)  # type: ignore[union-attr]
TAG = "py3-none-any"


def _metadata() -> str:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: lars-client\nVersion: {VERSION}\n"
            "Summary: Lars client for Python: get_host / report / get_route / register against the Lars agent over UDP\n"
            "License: MIT\nRequires-Python: >=3.9\nDescription-Content-Type: text/markdown\n\n" + readme)


def _package_files() -> List[str]:
    pkg = os.path.join(HERE, NAME)
    return sorted(f"{NAME}/{n}" for n in os.listdir(pkg) if n.endswith(".py") or n == "py.typed")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, str]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, str]] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, str]] = None,
                metadata_directory: Optional[str] = None) -> str:
    name = f"{DIST}-{VERSION}-{TAG}.whl"
    info = f"{DIST}-{VERSION}.dist-info"
    files = {p: open(os.path.join(HERE, p), "rb").read() for p in _package_files()}
    files[f"{info}/METADATA"] = _metadata().encode("utf-8")
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: lars_build\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode()
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(path, data)
    return name


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, str]] = None) -> str:
    base = f"{DIST}-{VERSION}"
    with tarfile.open(os.path.join(sdist_directory, f"{base}.tar.gz"), "w:gz") as t:
        for p in _package_files() + ["pyproject.toml", "README.md", "_build/lars_build.py"]:
            t.add(os.path.join(HERE, p), arcname=f"{base}/{p}")
        pkg_info = _metadata().encode("utf-8")
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
    return f"{base}.tar.gz"

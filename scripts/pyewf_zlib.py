"""Put a libewf-python built against the system zlib in place of the PyPI wheel (same version).

    .venv/bin/python scripts/pyewf_zlib.py [--check]

Why: the PyPI wheel of libewf-python is built with `configure --disable-shared-libs`, which also
turns zlib off, so libewf inflates every E01 chunk with its own DEFLATE decoder
(`libewf_deflate_decompress`). Measured on the `scripts/bench_image.py --size 200` E01 (297 MiB
of media, 196 MiB stored), one process reading the whole media through pyewf: 9.4 s CPU with the
wheel, 1.0 s with the same libewf version built against zlib (`ewfexport`, Debian's libewf
linked to zlib: 1.3 s). With the wheel, libewf's inflation was most of E01 ingest's extra time
over a folder's (1.4x); the library, its API and what it reads are unchanged, only the inflater.

What it does: fetches libewf-python's source distribution (the version installed) with pip,
builds it with zlib on (the one change to its build script: `--disable-shared-libs` becomes
`--with-zlib`, the other optional system libraries off, and the extension linked to libz: every
libyal library is still compiled in), checks the result is linked to libz, keeps the wheel in
`~/.cache/triage/wheels` (one build per machine and Python) and installs it. Needs a C compiler
and zlib's headers (Debian: gcc, zlib1g-dev). `make` runs it; when it cannot build, the PyPI
wheel stays (E01s are read the same, only slower) and it says why. `--check` only reports which
inflater the installed pyewf uses (exit 1 when it is libewf's own).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage.evidence.image_io import ewf_inflater  # noqa: E402

PACKAGE = "libewf-python"
# The configure call in libewf-python's _build.py, and what it becomes.
CONFIGURE_FROM = '"configure --disable-nls --disable-shared-libs"'
CONFIGURE_TO = ('"configure --disable-nls --with-zlib --with-bzip2=no --with-openssl=no'
                ' --with-libuuid=no --with-libfuse=no"')
SOURCES_FROM = "sources=project_information.sources,"
SOURCES_TO = 'sources=project_information.sources, libraries=["z"],'


def cache_dir(version: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "triage" / "wheels" / f"{PACKAGE}-{version}-zlib-{sys.implementation.cache_tag}-{platform.machine()}"


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build(version: str, target: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="pyewf-zlib-") as tmp:
        work = Path(tmp)
        pip("download", "--quiet", "--no-binary", ":all:", "--no-deps", "-d", str(work),
            f"{PACKAGE}=={version}")
        archives = list(work.glob("*.tar.gz"))
        if len(archives) != 1:
            raise RuntimeError(f"expected one source archive, found {[a.name for a in archives]}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(work / "src", filter="data")
        (src,) = [p for p in (work / "src").iterdir() if p.is_dir()]
        script = src / "_build.py"
        text = script.read_text()
        if CONFIGURE_FROM not in text or SOURCES_FROM not in text:
            raise RuntimeError(f"{PACKAGE} {version}'s _build.py no longer has the configure"
                               " call this script changes; the PyPI wheel stays")
        script.write_text(text.replace(CONFIGURE_FROM, CONFIGURE_TO)
                          .replace(SOURCES_FROM, SOURCES_TO))
        print(f"building {PACKAGE} {version} against zlib (about a minute)...", flush=True)
        out = work / "wheel"
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out),
                               str(src)], capture_output=True, text=True)
        if done.returncode:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"the build failed:\n{tail}")
        (wheel,) = out.glob("*.whl")
        target.mkdir(parents=True, exist_ok=True)
        final = target / wheel.name
        os.replace(wheel, final)
        return final


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only say which inflater pyewf uses")
    args = ap.parse_args()
    now = ewf_inflater()
    if args.check or now == "zlib":
        print(f"pyewf inflates with: {now}")
        return 0 if now == "zlib" else 1
    version = metadata.version(PACKAGE)
    target = cache_dir(version)
    wheels = sorted(target.glob("*.whl")) if target.is_dir() else []
    try:
        wheel = wheels[-1] if wheels else build(version, target)
        pip("install", "--quiet", "--force-reinstall", "--no-deps", str(wheel))
    except (OSError, RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"note: {PACKAGE} stays the PyPI wheel (libewf's own inflater: E01 reads are"
              f" several times slower, results the same): {exc}", file=sys.stderr)
        return 1
    after = subprocess.run([sys.executable, str(Path(__file__)), "--check"],
                           capture_output=True, text=True)
    print(after.stdout.strip())
    if after.returncode:
        for w in target.glob("*.whl"):
            w.unlink()  # a wheel that is not linked to zlib is not kept for next time
        print(f"note: the {PACKAGE} built is not linked to zlib (zlib1g-dev missing?)",
              file=sys.stderr)
    return after.returncode


if __name__ == "__main__":
    sys.exit(main())

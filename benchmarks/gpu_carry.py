"""Fill the ignored folder that travels to a GPU machine without network: the CIFAR-10 archive and missing wheels.

    python benchmarks/gpu_carry.py [--shared ../shared] [--dest .gpu] [--limit-mib 64]

Puts into ``--dest`` (``.gpu/``, ignored by git):

* ``cifar10_jpeg.npz``: the JPEG copy of CIFAR-10 from ``<shared>/data/`` (53 MiB), which
  ``configs/bench/cifar10_gpu/data_offline.yaml`` reads;
* ``wheels/``: the wheels of what the accelerator image lacks, for Python 3.12 (``pip download``: needs PyPI):
  ``jsonargparse`` and its ``signatures`` extra, which ``LightningCLI`` needs. Each wheel's ``Requires-Dist`` is
  checked: whatever they need must be carried too or be in the image (:data:`GPU_IMAGE`).

Then it prints the folder's size and that of everything that travels (tracked files, untracked files git does
not ignore, and this folder), and fails when that exceeds ``--limit-mib``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

#: The wheels to carry, pinned to the versions the project's tests run with.
WHEELS = {"jsonargparse": "4.53.0", "docstring-parser": "0.18.0", "typeshed-client": "2.15.0"}
#: The extras of carried packages that the project uses (LightningCLI checks ``jsonargparse[signatures]``).
EXTRAS = {"jsonargparse": ("signatures",)}
#: Packages of the accelerator image (its 'cuda' image's package list, 2026-11) that carried wheels may need.
GPU_IMAGE = frozenset({"pyyaml", "typing-extensions", "packaging", "numpy", "torch", "lightning"})
#: The accelerator image's Python.
PYTHON = {"python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython"}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
MIB = 1 << 20


def normalize(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(path: Path) -> str:
    """The normalised distribution name of a wheel file."""
    return normalize(path.name.split("-")[0])


def requirements(wheel: Path, extras: tuple[str, ...] = ()) -> set[str]:
    """Normalised names a wheel requires on the image's Python, with the given extras.

    Raises:
        ValueError: When the wheel has no METADATA file.
    """
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        metadata = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        if not metadata:
            raise ValueError(f"{wheel} has no .dist-info/METADATA")
        text = archive.read(metadata[0]).decode()
    needed = set()
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        for extra in ("", *extras):
            if req.marker is None or req.marker.evaluate({**PYTHON, "extra": extra}):
                needed.add(normalize(req.name))
    return needed


def missing_requirements(wheel_dir: Path, provided: frozenset[str] = GPU_IMAGE) -> dict[str, set[str]]:
    """Per carried wheel, what it needs that is neither carried nor ``provided`` (empty when all is there)."""
    wheels = sorted(wheel_dir.glob("*.whl"))
    carried = {wheel_name(w) for w in wheels}
    missing = {}
    for wheel in wheels:
        name = wheel_name(wheel)
        lacking = requirements(wheel, EXTRAS.get(name, ())) - carried - provided - {name}
        if lacking:
            missing[wheel.name] = lacking
    return missing


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def travelling_bytes(repo: Path, carried: list[Path]) -> int:
    """Bytes that travel: tracked files, untracked files git does not ignore, and the carried folders."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    files = {repo / name.decode() for name in listed if name}
    return sum(f.stat().st_size for f in files if f.is_file()) + sum(folder_bytes(c) for c in carried)


def download_wheels(dest: Path) -> None:
    """The pinned wheels for the image's Python (pure Python: one file each); other versions are removed."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {normalize(n): v for n, v in WHEELS.items()}
    for wheel in dest.glob("*.whl"):
        if wanted.get(wheel_name(wheel)) != wheel.name.split("-")[1]:
            wheel.unlink()  # one version of each: two stop the install
    present = {wheel_name(w) for w in dest.glob("*.whl")}
    todo = [f"{n}=={v}" for n, v in WHEELS.items() if normalize(n) not in present]
    if not todo:
        return
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", PYTHON["python_version"], "--implementation", "cp", *platforms, "-d", str(dest)]
    subprocess.run([*command, *todo], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared")
    parser.add_argument("--dest", default=".gpu")
    parser.add_argument("--limit-mib", type=float, default=64.0)
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive, target = Path(args.shared) / "data" / "cifar10_jpeg.npz", dest / "cifar10_jpeg.npz"
    if archive.is_file():
        if not target.is_file() or target.stat().st_size != archive.stat().st_size:
            shutil.copyfile(archive, target)
    elif not target.is_file():
        print(f"error: {archive} not found, and no copy in {target}", file=sys.stderr)
        return 1
    download_wheels(dest / "wheels")
    missing = missing_requirements(dest / "wheels")
    for wheel, names in missing.items():
        print(f"error: {wheel} needs {sorted(names)}: neither carried nor in the accelerator image", file=sys.stderr)
    carried, total = folder_bytes(dest), travelling_bytes(Path("."), [dest])
    for path in sorted(dest.rglob("*")):
        if path.is_file():
            print(f"  {path}: {path.stat().st_size / MIB:.2f} MiB")
    print(f"{dest}: {carried / MIB:.1f} MiB; travelling with the working tree: {total / MIB:.1f} MiB")
    if total > args.limit_mib * MIB:
        print(f"error: {total / MIB:.1f} MiB travel, over the {args.limit_mib:.0f} MiB limit", file=sys.stderr)
        return 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

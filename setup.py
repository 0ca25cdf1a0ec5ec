"""Package layout only (metadata lives in pyproject.toml).

The repository's folders ``models/`` and ``bench/`` install as the import packages
``sim_models`` and ``sim_bench``: generic top-level names such as ``models`` would collide
with other distributions. Every sub-package is found here, so a new paper package needs no
change to this file.
"""

from setuptools import find_packages, setup

FOLDERS = {"sim": "sim", "sim_models": "models", "sim_bench": "bench"}


def packages() -> list[str]:
    out = []
    for name, folder in FOLDERS.items():
        out.append(name)
        out += [f"{name}.{sub}" for sub in find_packages(folder)]
    return out


setup(packages=packages(), package_dir=FOLDERS)

"""A large params file (the hardening issue): `status` of a stage that tracks one key of a
34 MB `params.yaml`.

The adversarial pass measured 195 s for `mlrepro status` on such a file, against 16 s for
a plain libyaml parse. The file was parsed twice (once by the pipeline loader, which reads
`params.yaml` for its variables as DVC does, once for the tracked values) by ruamel's
pure-Python parser. Now it is parsed once, by ruamel's C parser where the result is the
same. For scale, the section also times, in this process, one parse with each of
ruamel's two parsers and with PyYAML's libyaml loader (YAML 1.1 rules, so not usable
for DVC's format: it reads `010` as 8 and `yes` as true).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import engine as en

ENTRIES = 400_000  # about 34 MB of YAML
SMALL_ENTRIES = 2_000


def write_params(root: Path, entries: int) -> int:
    """``params.yaml``: a ``train`` section and a large ``table`` of nested entries."""
    rng = random.Random(20261203)
    with open(root / "params.yaml", "w", encoding="utf-8") as f:
        f.write("train:\n  lr: 0.1\n  epochs: 3\ntable:\n")
        for i in range(entries):
            f.write(
                f"  row{i}:\n    weight: {rng.random()!r}\n    tags: [a, b, c]\n"
                f"    name: item-{i}\n"
            )
    (root / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python3 -c \"open('model.txt','w').write('m')\"\n"
        "    params: [train.lr]\n    outs: [model.txt]\n",
        encoding="utf-8",
    )
    return (root / "params.yaml").stat().st_size


def _parse_seconds(path: Path) -> list[tuple[str, str]]:
    from ruamel.yaml import YAML

    text = path.read_text(encoding="utf-8")
    timings = []
    for label, load in (
        ("ruamel, C parser (what mlrepro uses)", YAML(typ="safe").load),
        ("ruamel, pure-Python parser", YAML(typ="safe", pure=True).load),
    ):
        start = time.perf_counter()
        load(text)
        timings.append((f"one parse: {label}", f"{time.perf_counter() - start:.2f} s"))
    try:
        import yaml

        start = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        timings.append(
            ("one parse: PyYAML + libyaml (YAML 1.1)", f"{time.perf_counter() - start:.2f} s")
        )
    except (ImportError, AttributeError):
        pass
    return timings


def bench_big_params(work: Path, tools: en.Tools, small: bool) -> en.Section:
    sec = en.Section("big_params")
    base = work / "big_params"
    ml, dv = en.make_repos(base, tools)
    size = 0
    for root in (ml, dv):
        size = write_params(root, SMALL_ENTRIES if small else ENTRIES)
        en.sh(["git", "add", "-A"], root)
        en.sh(["git", "commit", "-q", "-m", "big params"], root)
    en.sh([tools.mlrepro, "repro"], ml)
    if en.TIME_DVC:
        en.sh([tools.dvc, "repro", "-q"], dv)
    sec.notes += [
        f"`params.yaml` of {size / 2**20:.1f} MiB; one stage tracks `train.lr`; the stage is "
        "up to date, so `status` reads the file and compares one value.",
        "Both tools run in the same environment, so DVC uses ruamel's C parser too "
        "(`ruamel.yaml.clib`, a dependency of mlrepro).",
        f"Load average before: {en.loadavg()}.",
    ]
    ml_s, dv_s = en.compare(
        "status",
        ([tools.mlrepro, "status"], ml, None),
        ([tools.dvc, "status", "-q"], dv, None),
        runs=1 if small else 3,
        dvc_runs=1 if small else 2,
    )
    sec.rows.append(("`status`, stage up to date", ml_s, dv_s))
    sec.extra += _parse_seconds(ml / "params.yaml")
    sec.notes.append(f"Load average after: {en.loadavg()}.")
    assert ml_s
    if dv_s is not None:
        sec.check(
            "`mlrepro status` faster than `dvc status`",
            ml_s.median,
            ml_s.median < dv_s.median,
            "{:.1f} s",
        )
    print(f"  big_params: {size / 2**20:.1f} MiB", file=sys.stderr)
    return sec

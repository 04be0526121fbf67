"""``status`` as text, versioned JSON (docs/cli.md, "mlrepro status") and ``repro --dry``."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.dag.reasons import DataState, DataStatus, Reason, ReasonCode, StageStatus
from mlrepro.engine.outcome import Action, ReproResult, StageOutcome
from mlrepro.ops.status import CacheGap, Fix, StatusReport
from mlrepro.render.status import STATUS_JSON_VERSION, dry_run, to_json, to_text

OLD = "xxh3-128:0123456789abcdef0123456789abcdef"
NEW = "xxh3-128:fedcba9876543210fedcba9876543210"

PARAM = Reason(ReasonCode.PARAM_CHANGED, "models.logreg", {"C": 1.0}, {"C": 0.5})
BYTES = Reason(ReasonCode.UPSTREAM_BYTES, "featurize")
MISSING_OUT = Reason(ReasonCode.OUT_MISSING, "data/features")


def report() -> StatusReport:
    return StatusReport(
        stages=(
            StageStatus("prepare", frozen=False, reasons=()),
            StageStatus("featurize", frozen=False, reasons=(MISSING_OUT,), restore=True),
            StageStatus(
                "train@logreg",
                frozen=False,
                reasons=(BYTES, Reason(ReasonCode.DEP_MISSING, "data/features")),
                after=("featurize",),
                restore=True,
            ),
            StageStatus("evaluate", frozen=True, reasons=(PARAM,)),
        ),
        data=(
            DataStatus("data/raw", DataState.MODIFIED, OLD, NEW),
            DataStatus("data/same", DataState.UNCHANGED, OLD, OLD),
        ),
    )


def test_text_names_each_changed_stage_with_its_first_reason() -> None:
    assert to_text(report(), why=False).splitlines() == [
        "featurize: output 'data/features' is missing (restored from the cache)",
        "train@logreg: will run if upstream stage 'featurize' produces different bytes"
        " (+1 more) (else restored from the cache)",
        "evaluate: param 'models.logreg' changed: {'C': 1.0} -> {'C': 0.5}",
        "data:",
        "    modified: data/raw",
    ]


def test_why_lists_every_reason_indented() -> None:
    assert to_text(report(), why=True).splitlines() == [
        "featurize (restored from the cache):",
        "    output 'data/features' is missing",
        "train@logreg (else restored from the cache):",
        "    will run if upstream stage 'featurize' produces different bytes",
        "    dependency 'data/features' is missing",
        "evaluate:",
        "    param 'models.logreg' changed: {'C': 1.0} -> {'C': 0.5}",
        "data:",
        "    modified: data/raw",
    ]


def test_nothing_changed_is_up_to_date() -> None:
    quiet = StatusReport((StageStatus("a", False, ()),), (DataStatus("d", DataState.UNCHANGED),))
    assert not quiet.changed
    assert to_text(quiet, why=False) == "Everything is up to date."
    assert to_text(quiet, why=True) == "Everything is up to date."


def test_cache_gaps_are_listed_with_their_fix_and_quoted_names() -> None:
    gaps = (
        CacheGap("model.pkl", "train", OLD, Fix.REPRO),
        CacheGap("frozen.bin", "old", OLD, Fix.REPAIR),
        CacheGap("data/new\nline.csv", None, NEW, Fix.ADD),
        CacheGap("gone", "lost", NEW, Fix.PULL),
    )
    gapped = StatusReport((StageStatus("train", False, ()),), (), gaps)
    assert not gapped.changed  # a gap is not "out of date" (docs/cli.md)
    assert to_text(gapped, why=False).splitlines() == [
        "cache:",
        "    missing: model.pkl (stage 'train'): `mlrepro repro` caches it again",
        "    missing: frozen.bin (stage 'old'): `mlrepro cache verify --repair` caches it again",
        '    missing: "data/new\\nline.csv" (data): `mlrepro add "data/new\\nline.csv"`'
        " caches it again",
        "    missing: gone (stage 'lost'): not in the workspace either:"
        " pull the cache from a remote",
    ]


def test_json_has_the_documented_versioned_shape() -> None:
    gap = CacheGap("model.pkl", "train", OLD, Fix.REPAIR)
    doc = json.loads(to_json(StatusReport(report().stages, report().data, (gap,))))
    assert STATUS_JSON_VERSION == 1
    assert doc == {
        "version": 1,
        "changed": True,
        "stages": [
            {
                "id": "prepare",
                "changed": False,
                "frozen": False,
                "reasons": [],
                "conditional_on": [],
                "restore": False,
            },
            {
                "id": "featurize",
                "changed": True,
                "frozen": False,
                "reasons": [
                    {
                        "code": "out-missing",
                        "message": "output 'data/features' is missing",
                        "path": "data/features",
                    }
                ],
                "conditional_on": [],
                "restore": True,
            },
            {
                "id": "train@logreg",
                "changed": True,
                "frozen": False,
                "reasons": [
                    {
                        "code": "upstream-bytes",
                        "message": "will run if upstream stage 'featurize' produces different"
                        " bytes",
                        "path": "featurize",
                    },
                    {
                        "code": "dep-missing",
                        "message": "dependency 'data/features' is missing",
                        "path": "data/features",
                    },
                ],
                "conditional_on": ["featurize"],
                "restore": True,
            },
            {
                "id": "evaluate",
                "changed": True,
                "frozen": True,
                "reasons": [
                    {
                        "code": "param-changed",
                        "message": "param 'models.logreg' changed: {'C': 1.0} -> {'C': 0.5}",
                        "path": "models.logreg",
                        "old": {"C": 1.0},
                        "new": {"C": 0.5},
                    }
                ],
                "conditional_on": [],
                "restore": False,
            },
        ],
        "data": [
            {"path": "data/raw", "state": "modified", "old": OLD, "new": NEW},
            {"path": "data/same", "state": "unchanged", "old": OLD, "new": OLD},
        ],
        "cache": [
            {
                "path": "model.pkl",
                "stage": "train",
                "object": OLD,
                "state": "missing",
                "fix": "cache verify --repair",
            }
        ],
    }


def test_json_keeps_exact_names() -> None:
    name = 'dätä/ü "q"\tx'
    doc = json.loads(to_json(StatusReport((), (DataStatus(name, DataState.NEW, None, NEW),))))
    assert doc["changed"] is True
    assert doc["data"] == [{"path": name, "state": "new", "old": None, "new": NEW}]
    assert "dätä" in to_json(StatusReport((), (DataStatus(name, DataState.NEW),)))  # no \\u


# every name a Linux file system can give, as Python's os functions give it back
fs_names = st.binary(min_size=1, max_size=24).map(lambda b: b.decode("utf-8", "surrogateescape"))


@given(fs_names)
def test_json_gives_back_any_name_exactly(name: str) -> None:
    gap = CacheGap(name, name, OLD, Fix.ADD)
    doc = json.loads(to_json(StatusReport((), (DataStatus(name, DataState.MODIFIED),), (gap,))))
    assert doc["data"][0]["path"] == name
    assert (doc["cache"][0]["path"], doc["cache"][0]["stage"]) == (name, name)


def test_dry_run_says_what_would_run_or_be_restored() -> None:
    result = ReproResult(
        (
            StageOutcome("prepare", Action.UP_TO_DATE),
            StageOutcome("featurize", Action.WOULD_RUN, (MISSING_OUT,)),
            StageOutcome("train", Action.WOULD_RUN, (BYTES,)),
            StageOutcome(
                "eval",
                Action.WOULD_RESTORE,
                (BYTES, Reason(ReasonCode.UPSTREAM_BYTES, "train"), MISSING_OUT),
            ),
            StageOutcome("cached", Action.WOULD_RESTORE, (PARAM,)),
            StageOutcome("done", Action.RAN),
        )
    )
    assert dry_run(result).splitlines() == [
        "would run 'featurize': output 'data/features' is missing",
        "would run 'train' if 'featurize' produces different bytes",
        "would restore 'eval' from the cache unless 'featurize' or 'train' produce different"
        " bytes: output 'data/features' is missing",
        "would restore 'cached' from the cache: param 'models.logreg' changed:"
        " {'C': 1.0} -> {'C': 0.5}",
    ]


def test_dry_run_with_nothing_to_do() -> None:
    result = ReproResult((StageOutcome("a", Action.UP_TO_DATE),))
    assert dry_run(result) == "Everything is up to date."
    assert dry_run(ReproResult(())) == "Everything is up to date."


def test_text_quotes_an_odd_data_path_as_git_does() -> None:
    name = b"new\nline\xe9.csv".decode("utf-8", "surrogateescape")
    text = to_text(StatusReport((), (DataStatus(name, DataState.MISSING),)), why=False)
    assert text.splitlines() == ["data:", '    missing: "new\\nline\\351.csv"']


def test_why_keeps_each_reason_on_one_line() -> None:
    stage = StageStatus("s", False, (Reason(ReasonCode.DEP_MISSING, "a\nb"),))
    lines = to_text(StatusReport((stage,), ()), why=True).splitlines()
    assert lines[0] == "s:" and len(lines) == 2

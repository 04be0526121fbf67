"""The run key of a stage (mlrepro.dag.runkey): what it covers, what it ignores, and the
agreement between a key computed from the workspace and one computed from a lock block."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mlrepro.dag.runkey import block_key, cacheable, run_key
from mlrepro.secrets import mask_for_lock
from mlrepro.spec.model import Out, Stage
from mlrepro.workspace.lockfile import Artifact, StageRecord

HEX = st.text("0123456789abcdef", min_size=32, max_size=32)
DIGEST = st.one_of(st.none(), HEX.map(lambda h: "xxh3-128:" + h))
PATH = st.from_regex(r"[a-z][a-z0-9_]{0,6}(/[a-z0-9_]{1,6}){0,2}", fullmatch=True)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
PARAM_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(PATH, inner, max_size=3),
    max_leaves=6,
)
# keys whose names are not credentials (letters only, a prefix keeps "key"/"token" away)
PARAM_NAME = st.from_regex(r"p_[a-j]{1,5}", fullmatch=True)
PARAM_FILES = st.sampled_from(["params.yaml", "conf/train.yaml"])
PARAM_VALUES = st.dictionaries(PARAM_NAME, PARAM_VALUE, min_size=1, max_size=3)
PARAMS = st.dictionaries(PARAM_FILES, PARAM_VALUES, max_size=2)
SOME_PARAMS = st.dictionaries(PARAM_FILES, PARAM_VALUES, min_size=1, max_size=2)
DEPS = st.dictionaries(PATH, DIGEST, max_size=4).map(
    lambda d: [Artifact(path=p, digest=g) for p, g in d.items()]
)
SOME_DEPS = st.dictionaries(PATH, DIGEST, min_size=1, max_size=4).map(
    lambda d: [Artifact(path=p, digest=g) for p, g in d.items()]
)
CMD = st.one_of(
    st.from_regex(r"python [a-z]{1,8}\.py( --[a-z]{1,5} [0-9]{1,3}){0,2}", fullmatch=True),
    st.lists(st.from_regex(r"echo [a-z0-9]{1,6}", fullmatch=True), min_size=1, max_size=3),
)


def stage(**kw: Any) -> Stage:
    base: dict[str, Any] = {
        "dvcfile": "dvc.yaml",
        "name": "train",
        "cmd": "python train.py",
        "wdir": ".",
        "deps": ("data/in.csv",),
        "outs": (Out("models/m.bin"),),
    }
    base.update(kw)
    return Stage(**base)


def is_key(k: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{64}", k) is not None


# -- stability ----------------------------------------------------------------------


@given(cmd=CMD, deps=DEPS, params=PARAMS)
def test_the_key_is_a_stable_hex_digest(cmd: Any, deps: list[Artifact], params: Any) -> None:
    s = stage(cmd=cmd)
    k = run_key(s, deps, params)
    assert is_key(k)
    # the same inputs in another order, and as a tuple: the same key
    again = run_key(
        s, tuple(reversed(deps)), {f: dict(reversed(v.items())) for f, v in params.items()}
    )
    assert again == k


def test_the_key_ignores_a_dependencys_size_sha256_and_file_count() -> None:
    """Only the content digest of a dependency is keyed on."""
    s = stage()
    deps = [Artifact("data/in.csv", "xxh3-128:" + "0" * 32)]
    k1 = run_key(s, deps, {"params.yaml": {"lr": 0.1}})
    k2 = run_key(s, deps, {"params.yaml": {"lr": 0.1}})
    assert k1 == k2 and is_key(k1)
    fat = [dataclasses.replace(deps[0], size=10, nfiles=3, sha256="sha256:" + "1" * 64)]
    assert run_key(s, fat, {"params.yaml": {"lr": 0.1}}) == k1


def test_the_key_ignores_the_stage_name_file_and_declared_deps_list() -> None:
    """Only the command, folder, dependency digests, params and output paths count:
    the same run under another name or in another dvc.yaml has the same key."""
    deps = [Artifact("data/in.csv", "xxh3-128:" + "a" * 32)]
    k = run_key(stage(), deps, {})
    assert run_key(stage(name="other", dvcfile="sub/dvc.yaml"), deps, {}) == k
    assert run_key(stage(desc="described", frozen=True), deps, {}) == k


# -- what changes it ----------------------------------------------------------------


@given(cmd=CMD, other=CMD, deps=DEPS, params=PARAMS)
def test_a_changed_command_changes_the_key(cmd: Any, other: Any, deps: Any, params: Any) -> None:
    s = stage(cmd=cmd)
    if other == cmd:
        return
    assert run_key(s, deps, params) != run_key(stage(cmd=other), deps, params)
    # a recorded run's command overrides the stage's own
    assert run_key(s, deps, params, cmd=other) == run_key(stage(cmd=other), deps, params)


def test_a_string_command_and_a_one_item_list_are_different_runs() -> None:
    deps = [Artifact("a", None)]
    assert run_key(stage(cmd="echo 1"), deps, {}) != run_key(stage(cmd=["echo 1"]), deps, {})


@given(deps=SOME_DEPS, new=DIGEST, data=st.data())
def test_a_changed_dependency_digest_changes_the_key(
    deps: list[Artifact], new: str | None, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(deps) - 1))
    if deps[i].digest == new:
        return
    changed = list(deps)
    changed[i] = dataclasses.replace(deps[i], digest=new)
    assert run_key(stage(), deps, {}) != run_key(stage(), changed, {})


def test_a_missing_dependency_differs_from_any_present_one_and_from_none() -> None:
    s = stage()
    absent = run_key(s, [Artifact("data/in.csv", None)], {})
    present = run_key(s, [Artifact("data/in.csv", "xxh3-128:" + "0" * 32)], {})
    nothing = run_key(s, [], {})
    assert len({absent, present, nothing}) == 3


def test_a_renamed_dependency_with_the_same_content_changes_the_key() -> None:
    d = "xxh3-128:" + "5" * 32
    s = stage()
    assert run_key(s, [Artifact("a.csv", d)], {}) != run_key(s, [Artifact("b.csv", d)], {})


@given(params=SOME_PARAMS, data=st.data())
def test_a_changed_param_value_changes_the_key(
    params: dict[str, dict[str, Any]], data: st.DataObject
) -> None:
    f = data.draw(st.sampled_from(sorted(params)))
    k = data.draw(st.sampled_from(sorted(params[f])))
    changed = {g: dict(v) for g, v in params.items()}
    changed[f][k] = ["changed", params[f][k]]  # differs from the old value at any depth
    assert run_key(stage(), [], params) != run_key(stage(), [], changed)


def test_values_of_different_types_are_different_runs() -> None:
    s = stage()
    keys = {run_key(s, [], {"p.yaml": {"x": v}}) for v in (1, 1.5, "1", True, None, [1], {"a": 1})}
    assert len(keys) == 7


def test_the_params_file_a_value_comes_from_counts() -> None:
    s = stage()
    assert run_key(s, [], {"a.yaml": {"lr": 1}}) != run_key(s, [], {"b.yaml": {"lr": 1}})
    assert run_key(s, [], {"a.yaml": {"lr": 1}}) != run_key(s, [], {"a.yaml": {"lr2": 1}})


def test_infinite_and_nan_params_have_keys_distinct_from_strings() -> None:
    s = stage()
    inf = run_key(s, [], {"p.yaml": {"x": float("inf")}})
    ninf = run_key(s, [], {"p.yaml": {"x": float("-inf")}})
    nan = run_key(s, [], {"p.yaml": {"x": float("nan")}})
    assert len({inf, ninf, nan}) == 3
    assert inf == run_key(s, [], {"p.yaml": {"x": float("inf")}})
    assert nan == run_key(s, [], {"p.yaml": {"x": float("nan")}})
    assert inf != run_key(s, [], {"p.yaml": {"x": "inf"}})


def test_output_paths_count_but_not_their_kind_or_order() -> None:
    deps = [Artifact("data/in.csv", "xxh3-128:" + "1" * 32)]
    k = run_key(stage(outs=(Out("a"), Out("b"))), deps, {})
    assert run_key(stage(outs=(Out("b"), Out("a"))), deps, {}) == k
    assert run_key(stage(outs=(Out("a"),), metrics=(Out("b"),)), deps, {}) == k
    assert run_key(stage(outs=(Out("a"), Out("c"))), deps, {}) != k
    assert run_key(stage(outs=(Out("a"),)), deps, {}) != k


def test_the_working_folder_counts() -> None:
    deps = [Artifact("data/in.csv", "xxh3-128:" + "1" * 32)]
    assert run_key(stage(wdir="."), deps, {}) != run_key(stage(wdir="sub"), deps, {})


# -- secrets ------------------------------------------------------------------------


def test_a_secret_in_the_command_is_masked_but_still_counts() -> None:
    deps = [Artifact("data/in.csv", "xxh3-128:" + "2" * 32)]
    a = stage(cmd="python train.py --password=hunter2hunter2")
    b = stage(cmd="python train.py --password=correcthorse99")
    ka, kb = run_key(a, deps, {}), run_key(b, deps, {})
    assert ka != kb
    # the key is over the masked form: the masked command gives the same key
    masked = stage(cmd=mask_for_lock(a.cmd))
    assert masked.cmd != a.cmd and "hunter2" not in masked.cmd
    assert run_key(masked, deps, {}) == ka


@given(secret=st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=20))
def test_a_secret_param_is_masked_by_hash(secret: str) -> None:
    s = stage()
    params = {"params.yaml": {"api_token": secret, "lr": 0.1}}
    k = run_key(s, [], params)
    assert run_key(s, [], mask_for_lock(params)) == k
    other = {"params.yaml": {"api_token": secret + "x", "lr": 0.1}}
    assert run_key(s, [], other) != k


# -- lock blocks ----------------------------------------------------------------------


@given(cmd=CMD, deps=DEPS, params=PARAMS)
def test_a_lock_blocks_key_equals_the_workspace_key(cmd: Any, deps: Any, params: Any) -> None:
    s = stage(cmd=cmd)
    rec = StageRecord(cmd=cmd, deps=tuple(deps), params=params, outs=())
    assert block_key(s, rec) == run_key(s, deps, params)


def test_a_lock_block_with_masked_secrets_matches_the_workspace_with_them() -> None:
    """The lock holds masks, the workspace the secrets themselves: same key."""
    s = stage(cmd="deploy --token ghp_" + "A" * 36)
    deps = [Artifact("data/in.csv", "xxh3-128:" + "3" * 32, size=4, sha256="sha256:" + "4" * 64)]
    params = {"params.yaml": {"db": {"password": "s3cr3t-pass"}, "n": 3}}
    rec = StageRecord(cmd=mask_for_lock(s.cmd), deps=tuple(deps), params=mask_for_lock(params))
    assert "ghp_" + "A" * 36 not in str(rec.cmd)
    assert "s3cr3t-pass" not in str(rec.params)
    assert block_key(s, rec) == run_key(s, deps, params)
    # a different secret in the workspace no longer matches the recorded run
    changed = {"params.yaml": {"db": {"password": "other-pass"}, "n": 3}}
    assert block_key(s, rec) != run_key(s, deps, changed)


def test_a_lock_block_round_tripped_through_json_keeps_its_key() -> None:
    s = stage()
    rec = StageRecord(
        cmd="python train.py",
        deps=(Artifact("data/in.csv", "xxh3-128:" + "6" * 32, size=9),),
        params={"params.yaml": {"lr": 0.5, "layers": [1, 2]}},
        outs=(Artifact("models/m.bin", "xxh3-128:" + "7" * 32),),
    )
    again = StageRecord.from_json(rec.to_json())
    assert block_key(s, again) == block_key(s, rec)


# -- cacheable --------------------------------------------------------------------------


def test_cacheable_needs_inputs_outputs_and_no_persist_or_always_changed() -> None:
    assert cacheable(stage())
    assert cacheable(stage(deps=(), params={"params.yaml": ("lr",)}))
    assert not cacheable(stage(deps=()))
    assert not cacheable(stage(outs=()))
    assert cacheable(stage(outs=(), metrics=(Out("m.json", cache=False),)))
    assert not cacheable(stage(always_changed=True))
    assert not cacheable(stage(outs=(Out("a"), Out("b", persist=True))))
    assert not cacheable(stage(outs=(), plots=(Out("p.csv", persist=True),)))

"""mlrepro.lock: lossless, deterministic, its fast reader agrees with the reference (YAML),
bad files refused."""

from __future__ import annotations

import contextlib
import json
import random
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from mlrepro.errors import MlreproError
from mlrepro.spec.yamlio import parse_yaml
from mlrepro.workspace import lockfile
from mlrepro.workspace.lockfile import (
    LOCK_VERSION,
    Artifact,
    Lock,
    LockFileError,
    NotTheLayout,
    StageRecord,
    dump_lock,
    parse_layout,
    parse_lock,
    parse_lock_yaml,
)

# -- strategies -------------------------------------------------------------------

# Any text a UTF-8 file can hold (no lone surrogates), control and non-printable
# characters included: dump_lock escapes what YAML cannot carry raw.
CHAR = st.characters(blacklist_categories=["Cs"])
# YAML 1.2's non-printable characters, for the hand-edit alphabet below
NOT_YAML = [chr(c) for c in range(0x7F, 0xA0)] + ["\ufffe", "\uffff"]
TEXT = st.text(CHAR, max_size=20)
# what stage ids look like: names, foreach/matrix keys, pipeline files in folders
STAGE_ID = st.one_of(
    TEXT.filter(bool),
    st.builds(
        lambda f, n, k: f"{f}:{n}@{k}",
        st.sampled_from(["dvc.yaml", "sub/dvc.yaml", "a b/dvc.yaml"]),
        st.text(CHAR, min_size=1, max_size=10),
        st.text(CHAR, max_size=10),
    ),
    st.sampled_from(
        ["train", "train@0", 'quo"te', "it's", "a: b", "- x", "#c", "{x}", "[1]", "é@ü"]
    ),
)
HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)


def json_values(text: st.SearchStrategy[str] = TEXT) -> st.SearchStrategy[Any]:
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),  # inf and -inf too (NaN != NaN: its own test)
        text,
    )
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)
        ),
        max_leaves=12,
    )


@st.composite
def artifact(draw: st.DrawFn, path: str) -> Artifact:
    return Artifact(
        path=path,
        digest=draw(st.one_of(st.none(), HEX32.map(lambda h: f"xxh3-128:{h}"))),
        size=draw(st.integers(0, 2**62)),
        nfiles=draw(st.integers(0, 10**6)),
        sha256=draw(st.one_of(st.none(), HEX64.map(lambda h: f"sha256:{h}"))),
        isdir=draw(st.booleans()),
    )


@st.composite
def artifacts(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> tuple[Artifact, ...]:
    paths = sorted(draw(st.lists(text.filter(bool), max_size=4, unique=True)))
    return tuple(draw(artifact(p)) for p in paths)


@st.composite
def stage_record(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> StageRecord:
    return StageRecord(
        cmd=draw(st.one_of(text, st.lists(text, min_size=1, max_size=3))),
        deps=draw(artifacts(text)),
        params=draw(
            st.dictionaries(
                st.sampled_from(["params.yaml", "config/train.json", "p q.toml", 'x"y.yaml']),
                st.dictionaries(text, json_values(text), max_size=4),
                max_size=3,
            )
        ),
        outs=draw(artifacts(text)),
    )


@st.composite
def locks(
    draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT, ids: st.SearchStrategy[str] = STAGE_ID
) -> Lock:
    stages = draw(st.dictionaries(ids, stage_record(text), max_size=4))
    data_paths = draw(st.lists(text.filter(bool), max_size=3, unique=True))
    return Lock(stages=stages, data={p: draw(artifact(p)) for p in data_paths})


def strict(value: Any) -> Any:
    """A form where 1, 1.0 and True differ, for comparing parses exactly."""
    if isinstance(value, dict):
        return ("dict", sorted((json.dumps(k), strict(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("list", [strict(v) for v in value])
    return (type(value).__name__, repr(value))


def lock_json(lock: Lock) -> Any:
    return strict(
        {
            "stages": {k: v.to_json() for k, v in lock.stages.items()},
            "data": {k: v.to_json() for k, v in lock.data.items()},
        }
    )


LOCKS = settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])


# -- round trip, agreement with YAML, determinism -------------------------------------


@pytest.mark.slow
@LOCKS
@given(locks())
def test_dump_then_parse_gives_the_same_lock(lock: Lock) -> None:
    text = dump_lock(lock)
    again = parse_lock(text)
    assert again == lock
    assert lock_json(again) == lock_json(lock)  # types too: 1 stays int, 1.0 float, True bool
    assert dump_lock(again) == text


@pytest.mark.slow
@LOCKS
@given(locks(), st.lists(st.tuples(STAGE_ID, st.one_of(st.none(), stage_record())), max_size=6))
def test_a_lock_changed_stage_by_stage_dumps_like_a_fresh_one(
    lock: Lock, changes: list[tuple[str, StageRecord | None]]
) -> None:
    """Stage blocks formatted by earlier dumps are reused; a changed or removed stage's
    never is."""
    current = lock
    for stage_id, record in changes:
        dump_lock(current)  # fills the block cache the next lock inherits
        current = current.with_stage(stage_id, record)
        fresh = Lock(stages=dict(current.stages), data=dict(current.data))
        assert dump_lock(current) == dump_lock(fresh)
        assert parse_lock(dump_lock(current)) == fresh


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(locks())
def test_fast_reader_agrees_with_the_reference(lock: Lock) -> None:
    """Whatever dump_lock writes, the fast reader reads (the reference is never asked),
    to the document the reference, ruamel, reads."""
    text = dump_lock(lock)
    assert strict(parse_layout(text)) == strict(parse_lock_yaml(text))
    with mock.patch.object(lockfile, "parse_lock_yaml", side_effect=AssertionError("fell back")):
        assert parse_lock(text) == lock


def read_by_the_reference(text: str) -> Lock:
    with mock.patch.object(lockfile, "parse_layout", side_effect=NotTheLayout):
        return parse_lock(text)


@pytest.mark.slow
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_edited_file_is_read_as_the_reference_reads_it(data: st.DataObject) -> None:
    """A file changed by hand or damaged (lines deleted, repeated, cut, re-indented, junk
    spliced in) is read as the reference reads it, or refused: what the fast reader
    cannot read, or reads but dump_lock would not write, goes to the reference."""
    lock = data.draw(locks())
    text = data.draw(mutations(dump_lock(lock)))
    try:
        got = parse_lock(text)
    except LockFileError:
        return  # refused (the reference may refuse it too, or read a damaged entry)
    assert lock_json(got) == lock_json(read_by_the_reference(text))


def value_text_reference(value: Any) -> str:
    """Each value's text as json.dumps writes it, escaped for YAML: what lockfile._j
    writes without json.dumps (which builds an encoder per call)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
    text = lockfile._YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if "Infinity" in text or "NaN" in text:
        text = lockfile._TOKENS.sub(lambda m: lockfile._TO_YAML.get(m.group(), m.group()), text)
    return text


@settings(max_examples=300)
@given(json_values(st.text(max_size=12)) | st.floats() | st.integers())
def test_value_text_is_what_json_dumps_writes(value: Any) -> None:
    """Byte for byte (the lock file's bytes must not change), surrogates and every
    float included; and it reads back as the value."""
    text = lockfile._j(value)
    assert text == value_text_reference(value)


@pytest.mark.slow
@LOCKS
@given(locks(), st.randoms(use_true_random=False))
def test_output_is_deterministic(lock: Lock, rnd: random.Random) -> None:
    """Same lock, any insertion order of stages, params and nested keys: same bytes."""

    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            rnd.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    def reordered(rec: StageRecord) -> StageRecord:
        deps, outs = list(rec.deps), list(rec.outs)
        rnd.shuffle(deps)
        rnd.shuffle(outs)
        return StageRecord(rec.cmd, tuple(deps), shuffled(rec.params), tuple(outs))

    other = Lock(
        stages={k: reordered(v) for k, v in shuffled(dict(lock.stages)).items()},
        data=shuffled(dict(lock.data)),
    )
    assert dump_lock(other) == dump_lock(lock)


def test_layout_is_one_block_per_stage_sorted() -> None:
    lock = Lock(
        stages={
            "b": StageRecord(cmd="echo b", params={"params.yaml": {"z": 1, "a": {"y": 2, "x": 1}}}),
            "a": StageRecord(cmd=["echo", "a"], outs=(Artifact("o", "xxh3-128:" + "0" * 32),)),
        },
        data={"d": Artifact("d", None)},
    )
    text = dump_lock(lock)
    lines = text.splitlines()
    assert lines[0].startswith("#")
    assert lines[1] == f"version: {LOCK_VERSION}"
    assert text.index('"a":') < text.index('"b":')
    assert '"a": 1' not in text  # nested keys are sorted inside the JSON value
    assert '{"x": 1, "y": 2}' in text
    blocks = text.split("\n\n")
    assert len(blocks) == 4  # header, stage a, stage b, data


# -- hand edits: still YAML, read by the fallback ----------------------------------------


def yaml_text(raw: Any, style: str) -> str:
    if style == "json":
        return json.dumps(raw, indent=3, ensure_ascii=False)
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = style == "flow"
    y.indent(mapping=4, sequence=6, offset=3)
    y.allow_unicode = True
    y.width = 4096
    buf = StringIO()
    y.dump(raw, buf)
    return "# edited by hand\n" + buf.getvalue()


# ruamel's emitter itself mishandles some characters (line and paragraph separators,
# BOM, leading/trailing spaces in flow context); hand edits are plain text.
HAND_CHAR = st.characters(
    whitelist_categories=["L", "N", "P", "S", "Zs"], blacklist_characters=[*NOT_YAML, "\x85"]
)


HAND_TEXT = st.text(HAND_CHAR, max_size=12)


@pytest.mark.slow
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(locks(HAND_TEXT, HAND_TEXT.filter(bool)), st.sampled_from(["json", "block", "flow"]))
def test_hand_edited_yaml_still_parses(lock: Lock, style: str) -> None:
    raw = parse_yaml(dump_lock(lock), "mlrepro.lock")
    text = yaml_text(raw, style)
    try:
        emitted = parse_yaml(text, "x")
    except MlreproError:
        emitted = None
    assume(strict(emitted) == strict(raw))  # ruamel's emitter kept every value
    with pytest.raises(NotTheLayout):
        parse_layout(text)  # so the reference is what reads it
    assert lock_json(parse_lock(text)) == lock_json(lock)


def test_hand_edited_example() -> None:
    text = """\
version: 1
stages:
    train:   # reindented, comments, plain and single-quoted scalars
        cmd: 'python train.py --lr 0.1'
        deps:
        -   path: data/x.csv
            digest: xxh3-128:00000000000000000000000000000000
            size: 12
            nfiles: 1
        params:
            params.yaml: {lr: 0.1, layers: [1, 2], name: "cnn"}
        outs: []
data: []
"""
    lock = parse_lock(text)
    rec = lock.stages["train"]
    assert rec.cmd == "python train.py --lr 0.1"
    assert rec.deps == (Artifact("data/x.csv", "xxh3-128:" + "0" * 32, 12, 1),)
    assert rec.params == {"params.yaml": {"lr": 0.1, "layers": [1, 2], "name": "cnn"}}
    assert parse_lock(dump_lock(lock)) == lock


def test_empty_file_is_an_empty_lock() -> None:
    assert parse_lock("") == Lock()
    assert parse_lock(dump_lock(Lock())) == Lock()


def test_nan_params_survive() -> None:
    nan = float("nan")
    params = {"params.yaml": {"a": nan, "b": [nan, -nan], "c": {"d": nan}}}
    lock = Lock(stages={"s": StageRecord(cmd="x", params=params)})
    text = dump_lock(lock)
    assert strict(parse_lock(text).stages["s"].params) == strict(params)
    assert strict(parse_layout(text)) == strict(parse_yaml(text, "mlrepro.lock"))


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2", "0", '"1"', "abc", "1.5", "null", "[1]"])
def test_unknown_version_refused_naming_it(version: str) -> None:
    text = dump_lock(Lock()).replace(f"version: {LOCK_VERSION}", f"version: {version}")
    with pytest.raises(LockFileError) as info:
        parse_lock(text)
    found = repr(parse_yaml(f"v: {version}", "x")["v"])
    assert f"version {found}" in info.value.message
    assert info.value.hint


def test_missing_version_refused() -> None:
    with pytest.raises(LockFileError, match="version None"):
        parse_lock("stages: {}\n")


def test_boolean_version_refused() -> None:
    with pytest.raises(LockFileError):
        parse_lock("version: true\nstages: {}\n")


def mutations(text: str) -> st.SearchStrategy[str]:
    lines = text.split("\n")
    junk = st.sampled_from(
        [
            "",
            " ",
            "-",
            ":",
            "- ",
            '"',
            "{",
            "[",
            "}",
            "]",
            "#",
            "  ",
            "null",
            "1",
            "x: y",
            "\t",
            "&a",
            "*a",
            "!!str",
            # what JSON reads and YAML reads otherwise, or not at all
            "NaN",
            "-Infinity",
            '{"a": 1, "a": 2}',
            '"\\ud83d\\ude00"',
            "\u2028",
            "\x85",
            "\x7f",
            "\r",
            "1E5",
        ]
    )

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(out) - 1))
            op = draw(st.sampled_from(["delete", "duplicate", "insert", "cut", "splice", "indent"]))
            if op == "delete" and len(out) > 1:
                del out[i]
            elif op == "duplicate":
                out.insert(i, out[i])
            elif op == "insert":
                out.insert(i, draw(junk))
            elif op == "cut" and out[i]:
                j = draw(st.integers(0, len(out[i])))
                out[i] = out[i][:j]
            elif op == "splice":
                j = draw(st.integers(0, len(out[i])))
                out[i] = out[i][:j] + draw(junk) + out[i][j:]
            elif op == "indent":
                out[i] = draw(st.sampled_from(["", " ", "   "])) + out[i].lstrip(" ")
        return "\n".join(out)

    return mutate()


@pytest.mark.slow
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_files_are_refused_with_mlrepro_errors(data: st.DataObject) -> None:
    lock = data.draw(locks().filter(lambda lk: bool(lk.stages)))
    text = data.draw(mutations(dump_lock(lock)))
    try:
        parse_lock(text)
    except MlreproError as exc:
        assert exc.message.startswith("mlrepro.lock")


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_with_mlrepro_errors(text: str) -> None:
    with contextlib.suppress(MlreproError):
        parse_lock(text)


@pytest.mark.parametrize(
    "text",
    [
        'version: 1\nstages:\n  [1]:\n    cmd: "x"\n',
        'version: 1\nstages:\n  {}:\n    cmd: "x"\n',
        'version: 1\nstages:\n  "a":\n    params:\n      [1]:\n',
        'version: 1\nstages:\n  "a":\n    cmd: "x"\n    outs:\n'
        '      - path: "o"\n        size: 1e400\n',
        "version: 1\nstages: " + "[" * 20000,
    ],
    ids=["list-stage-name", "dict-stage-name", "list-params-file", "huge-size", "deep-nesting"],
)
def test_known_garbage_is_refused_with_lock_file_error(text: str) -> None:
    with pytest.raises(LockFileError):
        parse_lock(text)


@pytest.mark.parametrize(
    "value", ["\x7f", "a\x85b", "\x9b", "\ufffe", float("inf"), float("-inf")], ids=repr
)
def test_characters_yaml_cannot_carry_raw_are_escaped(value: Any) -> None:
    lock = Lock(stages={"s": StageRecord(cmd="x", params={"params.yaml": {"k": value}})})
    text = dump_lock(lock)
    assert strict(parse_layout(text)) == strict(parse_yaml(text, "mlrepro.lock"))


# -- paths that are not UTF-8 (issue 15) -----------------------------------------------


@pytest.mark.parametrize("path", ["\\ud800x", "\\udcc3\\udca9"])
def test_a_path_no_file_can_have_is_refused(path: str) -> None:
    """A surrogate no byte decodes to, or one two UTF-8 bytes would give instead
    (``\\udcc3\\udca9`` is not how ``é`` reads), names no file: a damaged lock."""
    text = f'version: 1\nstages: {{}}\n\ndata:\n  - path: "{path}"\n    digest: null\n'
    with pytest.raises(LockFileError, match="malformed entry"):
        parse_lock(text)


@pytest.mark.parametrize(
    ("digest", "sha"),
    [
        ('"xxh3-128:../../../../etc/passwd"', "null"),
        ('"xxh3-128:ab/home/someone/.bashrc"', "null"),
        ('"md5:d41d8cd98f00b204e9800998ecf8427e"', "null"),
        ('"' + "0" * 32 + '"', "null"),  # untagged
        ('"xxh3-128:' + "A" * 32 + '"', "null"),
        ('"xxh3-128:' + "0" * 32 + '"', '"sha256:../x"'),
        ('"xxh3-128:' + "0" * 32 + '"', '"xxh3-128:' + "0" * 32 + '"'),
    ],
)
def test_a_digest_that_could_not_name_an_object_is_refused(digest: str, sha: str) -> None:
    """A digest becomes the name of a cache object (read, linked out, removed when
    corrupt): one that is not lower-case hex of its algorithm's length, tagged, would
    be a path out of the cache. Both readers refuse it, naming the path."""
    text = (
        f'version: 1\nstages: {{}}\n\ndata:\n  - path: "d.txt"\n    digest: {digest}\n'
        f"    sha256: {sha}\n    size: 1\n    nfiles: 1\n"
    )
    with pytest.raises(LockFileError, match=r"malformed entry \(bad digest for 'd\.txt'\)"):
        parse_lock(text)
    with pytest.raises(LockFileError, match=r"bad digest for 'd\.txt'"):
        parse_lock(text.replace("stages: {}", "stages: {} # not the layout"))


NAME_BYTES = st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b)


@settings(max_examples=50)
@given(st.lists(NAME_BYTES, min_size=1, max_size=4, unique=True))
def test_paths_that_are_not_utf8_are_read_by_the_fast_reader(names: list[bytes]) -> None:
    """A name that is not UTF-8 is written as ``\\udcNN`` escapes (issue 15), which the
    reference refuses ("invalid Unicode character escape code"): such a lock is read by
    the fast reader alone, and the same."""
    paths = [n.decode("utf-8", "surrogateescape") for n in names]
    lock = Lock(data={p: Artifact(p, None) for p in paths})
    text = dump_lock(lock)
    assert parse_lock(text) == lock

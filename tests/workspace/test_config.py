"""The configuration files (mlrepro.workspace.config): validation of each file, the
local file laid over the project one, the checks made on the two together, and
settings by name. Real files under tmp_path; the CLI's use of them is
tests/ops/test_config.py and tests/ops/test_remotes.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrepro.errors import MlreproError
from mlrepro.workspace.config import (
    DEFAULT_LINK_TYPES,
    LINK_TYPES,
    Config,
    check_merged,
    flatten,
    get_path,
    merged,
    parse_value,
    read_config,
    read_merged,
    set_path,
    split_name,
    unset_path,
    validate,
)

REMOTE = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,6}", fullmatch=True)
OPTION = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
VALUE = st.one_of(st.text(max_size=8), st.integers(-100, 100), st.booleans())
TYPES = st.lists(st.sampled_from(LINK_TYPES), min_size=1, max_size=4, unique=True)


@st.composite
def configs(draw: st.DrawFn, *, local: bool = False) -> dict[str, Any]:
    remotes = draw(st.dictionaries(REMOTE, st.dictionaries(OPTION, VALUE, max_size=3), max_size=3))
    if not local:
        for options in remotes.values():
            options.setdefault("url", draw(st.text(min_size=1, max_size=8)))
    data: dict[str, Any] = {"remotes": remotes}
    if not local or draw(st.booleans()):
        data["version"] = 1
    if draw(st.booleans()):
        data["cache"] = {"type": draw(TYPES)}
    if remotes and draw(st.booleans()):
        data["core"] = {"remote": draw(st.sampled_from(sorted(remotes)))}
    return data


def write(root: Path, data: Any, *, local: bool = False) -> None:
    d = root / ".mlrepro"
    d.mkdir(exist_ok=True)
    name = "config.local" if local else "config.json"
    text = data if isinstance(data, str) else json.dumps(data)
    (d / name).write_text(text, encoding="utf-8")


@settings(max_examples=50)
@given(data=configs())
def test_a_valid_project_file_reads_back_as_its_config(data: dict[str, Any]) -> None:
    validate(data, "config.json", local=False)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        write(Path(d), data)
        cfg = read_config(d)
    assert cfg.link_types == tuple(data.get("cache", {}).get("type", DEFAULT_LINK_TYPES))
    assert cfg.remotes == data["remotes"]
    assert cfg.default_remote == data.get("core", {}).get("remote")
    # to_json writes what reads back as the same config
    validate(cfg.to_json(), "config.json", local=False)


@settings(max_examples=50)
@given(project=configs(), local=configs(local=True))
def test_the_local_file_wins_option_by_option(
    project: dict[str, Any], local: dict[str, Any]
) -> None:
    out = merged(project, local)
    for name, value in flatten(local).items():
        assert get_path(out, split_name(name)) == (
            value if name != "cache.type" else local["cache"]["type"]
        )
    for name, value in flatten(project).items():
        if name not in flatten(local):
            assert flatten(out)[name] == value
    assert set(flatten(out)) == set(flatten(project)) | set(flatten(local))
    # the inputs are untouched
    assert merged(project, {}) == project and out is not project


@given(data=configs())
def test_every_setting_is_found_by_its_name(data: dict[str, Any]) -> None:
    for name, value in flatten(data).items():
        path = split_name(name)
        got = get_path(data, path)
        assert (",".join(got) if path == ("cache", "type") else got) == value


@given(data=configs(), extra=st.tuples(REMOTE, OPTION, VALUE))
def test_set_then_unset_restores_the_document(
    data: dict[str, Any], extra: tuple[str, str, Any]
) -> None:
    remote, option, value = extra
    path = ("remotes", remote, option)
    if get_path(data, path) is not None or remote in data["remotes"]:
        return
    before = json.loads(json.dumps(data))
    set_path(data, path, value)
    assert get_path(data, path) == value
    assert unset_path(data, path) is True
    assert data == before  # the remote it made empty is gone, "remotes" itself stays
    assert unset_path(data, path) is False


def test_unset_keeps_the_remotes_section_and_drops_empty_sections() -> None:
    data: dict[str, Any] = {"core": {"remote": "a"}, "remotes": {"a": {"url": "u"}}}
    assert unset_path(data, ("core", "remote"))
    assert "core" not in data
    assert unset_path(data, ("remotes", "a", "url"))
    assert data == {"remotes": {}}
    assert not unset_path(data, ("cache", "type"))
    assert not unset_path({"cache": "x"}, ("cache", "type"))


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("cache.type", ("cache", "type")),
        ("core.remote", ("core", "remote")),
        ("remote.s3.url", ("remotes", "s3", "url")),
        ("remote.my.bucket.region", ("remotes", "my.bucket", "region")),
    ],
)
def test_setting_names(name: str, path: tuple[str, ...]) -> None:
    assert split_name(name) == path


@pytest.mark.parametrize(
    "name", ["cache", "cache.types", "remote.url", "remote..url", "remote.a.URL", "core.x", ""]
)
def test_unknown_setting_names_are_refused(name: str) -> None:
    with pytest.raises(MlreproError, match="unknown setting"):
        split_name(name)


def test_cache_type_values_are_comma_lists_of_known_types() -> None:
    assert parse_value(("cache", "type"), " hardlink, copy ,") == ["hardlink", "copy"]
    assert parse_value(("remotes", "a", "url"), "s3://b") == "s3://b"
    for bad in ("", " , ", "copy,teleport"):
        with pytest.raises(MlreproError, match=r"invalid cache\.type"):
            parse_value(("cache", "type"), bad)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"version": 1, "cache": {"type": []}}, "'cache.type' must be a non-empty list"),
        ({"version": 1, "cache": {"type": "copy"}}, "'cache.type' must be a non-empty list"),
        ({"version": 1, "cache": {"type": ["copy"], "dir": "x"}}, "only 'type'"),
        ({"version": 1, "core": {"remote": "a", "x": 1}}, "only 'remote'"),
        ({"version": 1, "core": {"remote": "-a"}}, "'core.remote' must be a remote's name"),
        ({"version": 1, "remotes": []}, "'remotes' must be an object"),
        ({"version": 1, "remotes": {"a b": {"url": "u"}}}, "invalid remote name 'a b'"),
        ({"version": 1, "remotes": {"a": "u"}}, "remote 'a' must be an object"),
        ({"version": 1, "remotes": {"a": {"url": "u", "Region": "x"}}}, "invalid option name"),
        ({"version": 1, "remotes": {"a": {"url": ["u"]}}}, "option 'url' must be a string"),
        ({"version": 1, "remotes": {"a": {"region": "x"}}}, "remote 'a' has no 'url'"),
        ({"version": "1"}, "unsupported config version '1'"),
        ({}, "unsupported config version None"),
    ],
)
def test_invalid_project_files_are_refused_by_name(data: Any, message: str) -> None:
    with pytest.raises(MlreproError) as err:
        validate(data, ".mlrepro/config.json", local=False)
    assert str(err.value).startswith(".mlrepro/config.json: ")
    assert message in str(err.value)


def test_a_local_file_needs_no_version_nor_url() -> None:
    validate({}, "config.local", local=True)
    validate({"remotes": {"a": {"secret_access_key": "k"}}}, "config.local", local=True)
    with pytest.raises(MlreproError, match="unsupported config version 2"):
        validate({"version": 2}, "config.local", local=True)


def test_no_files_is_the_default_config(tmp_path: Path) -> None:
    assert read_config(str(tmp_path)) == Config()
    assert Config().link_types == ("reflink", "copy")
    assert read_merged(str(tmp_path)) == {"version": 1}


def test_a_local_file_alone_is_laid_over_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, {"cache": {"type": ["hardlink"]}}, local=True)
    assert read_config(str(tmp_path)).link_types == ("hardlink",)


def test_the_local_file_completes_and_overrides_a_remote(tmp_path: Path) -> None:
    write(tmp_path, {"version": 1, "remotes": {"s": {"url": "s3://a", "region": "eu"}}})
    write(tmp_path, {"remotes": {"s": {"region": "us", "secret_access_key": "k"}}}, local=True)
    cfg = read_config(str(tmp_path))
    assert cfg.remotes == {"s": {"url": "s3://a", "region": "us", "secret_access_key": "k"}}


def test_a_local_remote_without_url_anywhere_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"version": 1, "remotes": {}})
    write(tmp_path, {"remotes": {"extra": {"region": "us"}}}, local=True)
    with pytest.raises(MlreproError, match="remote 'extra' has no 'url' in either file"):
        read_config(str(tmp_path))


def test_each_default_must_name_a_remote_where_its_file_is_in_force() -> None:
    project = {"version": 1, "remotes": {"p": {"url": "u"}}}
    local = {"remotes": {"l": {"url": "v"}}}
    # the local default may name a remote of either file
    assert check_merged(project, {**local, "core": {"remote": "p"}})["core"] == {"remote": "p"}
    assert check_merged(project, {**local, "core": {"remote": "l"}})["core"] == {"remote": "l"}
    # the committed default must name a committed remote: a clone has no config.local
    with pytest.raises(MlreproError, match=r"'core\.remote' names 'l'.*not a remote of config"):
        check_merged({**project, "core": {"remote": "l"}}, local)
    with pytest.raises(MlreproError, match="not a remote of either file"):
        check_merged(project, {**local, "core": {"remote": "zzz"}})


@pytest.mark.parametrize("text", ["{", "\udcff", '{"version": 1,}'])
def test_a_file_that_is_not_json_is_refused(tmp_path: Path, text: str) -> None:
    d = tmp_path / ".mlrepro"
    d.mkdir()
    (d / "config.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(MlreproError, match=r"config\.json: invalid JSON"):
        read_config(str(tmp_path))


def test_a_remote_option_may_be_a_float() -> None:
    validate({"version": 1, "remotes": {"a": {"url": "u", "timeout": 2.5}}}, "c", local=False)

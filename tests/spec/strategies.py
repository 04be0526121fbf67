"""Hypothesis strategies that generate DVC projects (``{path: text}``).

The projects are "valid-ish": most load in DVC, some do not (overlapping
outputs, cycles, undefined or non-scalar interpolations, clashing vars,
foreach keys with ``@``...), and the differential test only asks mlrepro to
agree with DVC either way.

Design notes:

* Paths are drawn from a small vocabulary so that outputs and dependencies
  of different stages often coincide, nest or contain each other.
* Every stage works in a project-relative directory (its dvc.yaml's folder
  joined with its ``wdir``); dependency and output targets are chosen as
  project-relative paths first and then written relative to that directory,
  with random decorations (``./``, doubled ``/``, trailing ``/``, ``x/..``),
  so the same file is spelled many ways.
* Templating values come from generated params.yaml / vars files / inline
  vars, and ``${...}`` references are built from what those files define
  (plus the odd undefined one).
* Files are written as block YAML (ruamel, key order kept) or, sometimes, as
  JSON, which is also YAML.
"""

from __future__ import annotations

import io
import json
import posixpath
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

# --------------------------------------------------------------------------- writing files


def dump_yaml(data: Any, *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=1)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096
    yaml.representer.sort_base_mapping_type_on_output = False  # matrix order matters
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- scalars and values

_SAFE_CHARS = "abcxyzXYZ019_-. é日😀"
ODD_STRINGS = [
    "yes", "no", "on", "off", "010", "0o10", "1_000", "1e3", ".inf", "null", "~", "true", "True",
    "a b", "x:y", "#c", "it's", 'q"uote', "$HOME", "*.csv", " lead", "trail ", "日本", "😀",
]

finite_floats = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 0.1, 2.5, 1e-7, 1e16, 1e300, 3.14159, -1.5, 100.0]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
plain_text = st.text(alphabet=_SAFE_CHARS, min_size=1, max_size=6)
strings = st.one_of(plain_text, st.sampled_from(ODD_STRINGS))
scalars = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    finite_floats,
    st.booleans(),
    st.none(),
    strings,
)
KEYS = ["a", "b", "lr", "epochs", "train", "opt", "x_y", "k-1", "é", "n", "flag"]
keys = st.sampled_from(KEYS)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(keys, children, max_size=3),
    ),
    max_leaves=8,
)


def contexts(prefix: str = "") -> st.SearchStrategy[dict[str, Any]]:
    """A mapping of variables, with top-level keys optionally prefixed."""
    top = st.sampled_from([prefix + k for k in KEYS]) if prefix else keys
    return st.dictionaries(top, values, max_size=4)


def references(context: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every ``${...}`` expression that selects something in ``context``."""
    out: list[tuple[str, Any]] = []

    def walk(expr: str, value: Any, depth: int) -> None:
        out.append((expr, value))
        if depth > 3:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{expr}.{k}", v, depth + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{expr}[{i}]" if i % 2 == 0 else f"{expr}.{i}", v, depth + 1)

    for k, v in context.items():
        walk(k, v, 0)
    return out


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


# --------------------------------------------------------------------------- paths

PATH_WORDS = ["data", "raw", "model", "out", "d", "x.csv", "é", "b c", "m.json"]
path_targets = st.lists(st.sampled_from(PATH_WORDS), min_size=1, max_size=3).map("/".join)


def rel_to(target: str, workdir: str) -> str:
    """``target`` relative to ``workdir`` (both project-relative).

    From a working directory outside the project the way back in would need
    the project folder's own name, which differs between the two tools' temp
    folders; such stages simply get paths outside the project.
    """
    if workdir == ".." or workdir.startswith("../"):
        return target
    return posixpath.relpath(posixpath.join("/R", target), posixpath.join("/R", workdir))


@st.composite
def spelled(draw: st.DrawFn, target: str, workdir: str) -> str:
    """``target`` (project-relative) written relative to ``workdir``, decorated."""
    rel = rel_to(target, workdir)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        rel = "./" + rel
    elif choice == 1 and "/" in rel:
        rel = rel.replace("/", "//", 1)
    elif choice == 2:
        rel = rel + "/"
    elif choice == 3:
        rel = "zz/../" + rel
    return rel


# --------------------------------------------------------------------------- stage graphs

DVC_DIRS = ["", "", "sub", "sub/inner", "other"]
WDIRS = [None, None, None, ".", "..", "w", "./w/", "w/x/.."]


def _join(a: str, b: str | None) -> str:
    joined = posixpath.normpath(posixpath.join(a or ".", b or "."))
    return "" if joined == "." else joined


@st.composite
def stage_graphs(draw: st.DrawFn, *, max_stages: int = 7) -> dict[str, str | bytes]:
    """Plain stages (no templating) spread over several dvc.yaml files.

    Outputs are mostly distinct; dependencies point at other stages' outputs,
    inside or above them, or at unrelated paths; params entries mix bare
    keys, files with key lists, whole files and repeated files.
    """
    n = draw(st.integers(1, max_stages))
    files: dict[str, dict[str, Any]] = {}
    outs_so_far: list[str] = []
    for i in range(n):
        dvc_dir = draw(st.sampled_from(DVC_DIRS))
        wdir = draw(st.sampled_from(WDIRS))
        workdir = _join(dvc_dir, wdir)
        stage: dict[str, Any] = {"cmd": draw(st.sampled_from([f"run {i}", [f"run {i}", "again"], f"echo {i}\n"]))}
        if wdir is not None:
            stage["wdir"] = wdir

        # outputs: usually fresh, sometimes a drawn path that may clash
        outs: list[str] = []
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.integers(0, 4)) == 0:
                target = draw(path_targets)
            else:
                # per-stage folder, so that "the parent of an earlier output"
                # does not also contain this stage's own outputs
                target = _join(draw(st.sampled_from(["", "gen", "res/deep"])), f"s{i}/o{len(outs)}")
            outs.append(target)
        # dependencies: on earlier outputs (equal, inside, parent), unrelated
        # paths, and rarely inside the stage's own output (DVC refuses that)
        deps: list[str] = []
        for _ in range(draw(st.integers(0, 3))):
            roll = draw(st.integers(0, 39))
            if outs_so_far and roll < 24:
                base = draw(st.sampled_from(outs_so_far))
                parent = posixpath.dirname(base) or base
                target = [base, base + "/part.csv", parent][roll % 3] if roll < 20 else parent
            elif outs and roll == 39:
                target = outs[0] + "/x"
            else:
                target = draw(path_targets)
            deps.append(target)
        flagged = []
        for target in outs:
            path = draw(spelled(target, workdir))
            if draw(st.booleans()):
                flagged.append(path)
            else:
                flags = draw(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "cache": st.booleans(),
                            "persist": st.booleans(),
                            "push": st.booleans(),
                            "remote": st.sampled_from(["r1", "store"]),
                            "desc": st.just("d"),
                        },
                    )
                )
                flagged.append({path: flags})
        section = draw(st.sampled_from(["outs", "outs", "metrics", "plots"]))
        if flagged:
            stage[section] = flagged
        if deps:
            stage["deps"] = [draw(spelled(t, workdir)) for t in deps]
        params = draw(params_entries(workdir, [*outs_so_far, *outs]))
        if params is not None:
            stage["params"] = params
        if draw(st.integers(0, 4)) == 0:
            stage["frozen"] = draw(st.booleans())
        if draw(st.integers(0, 4)) == 0:
            stage["always_changed"] = draw(st.booleans())
        name = draw(st.sampled_from(["s", "train", "é", "a-b_c", "x.y"])) + str(i)
        files.setdefault(dvc_dir, {}).setdefault("stages", {})[name] = stage
        outs_so_far.extend(outs)
    result: dict[str, str | bytes] = {}
    for dvc_dir, doc in files.items():
        path = posixpath.join(dvc_dir, "dvc.yaml")
        result[path] = dump_yaml(doc, as_json=draw(st.integers(0, 5)) == 0)
    return result


@st.composite
def params_entries(draw: st.DrawFn, workdir: str, outputs: list[str]) -> list[Any] | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    param_keys = st.sampled_from(["lr", "train.epochs", "a.b.c", "é", "opt.*", "z"])
    files = ["params.yaml", "p.json", "conf/p.toml", "p.py", "./conf//p.toml", "../p.yaml"]
    if outputs:
        files.append(rel_to(draw(st.sampled_from(outputs)), workdir))
    entries: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            entries.append(draw(param_keys))
        else:
            f = draw(st.sampled_from(files))
            listing = [None, [], draw(st.lists(param_keys, min_size=1, max_size=3))][kind - 1]
            entries.append({f: listing})
    return entries


# --------------------------------------------------------------------------- templating


@st.composite
def templated_cmd(draw: st.DrawFn, refs: list[tuple[str, Any]]) -> Any:
    """A cmd (str or list) made of literal text and ``${...}`` references.

    References mostly select scalars, sometimes mappings (unpacked into
    ``--key value`` inside a string) and rarely lists (an error).
    """
    by_kind: dict[str, list[str]] = {"scalar": [], "dict": [], "list": []}
    for expr, value in refs:
        kind = "scalar" if is_scalar(value) else "dict" if isinstance(value, dict) else "list"
        by_kind[kind].append(expr)
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        roll = draw(st.integers(0, 19))
        pool = by_kind["scalar"] if roll < 8 else by_kind["dict"] if roll < 10 else by_kind["list"] if roll == 10 else []
        if pool:
            expr = draw(st.sampled_from(pool))
            spaced = draw(st.integers(0, 7)) == 0
            parts.append("${ " + expr + " }" if spaced else "${" + expr + "}")
        elif roll == 11:
            parts.append(draw(st.sampled_from(["${nope}", "\\${escaped}", "$HOME", "${a", "x}", "\\${a}"])))
        else:
            parts.append(draw(st.sampled_from(["python run.py", "--flag", "a b", "é", "-", ""])))
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return parts  # each item may be an exact interpolation
    if shape == 1:
        return "\n".join(parts) + "\n"
    return " ".join(parts)


@st.composite
def templated_projects(draw: st.DrawFn) -> dict[str, str | bytes]:
    """params.yaml, vars files and inline vars feeding `${...}` in stages."""
    files: dict[str, str | bytes] = {}
    context: dict[str, Any] = {}
    vars_list: list[Any] = []

    params = draw(contexts())
    if params or draw(st.booleans()):
        files["params.yaml"] = dump_yaml(params, as_json=False)
        context.update(params)
    for i in range(draw(st.integers(0, 2))):
        # mostly disjoint keys; sometimes a clash with another source
        prefix = "" if draw(st.integers(0, 6)) == 0 else f"v{i}_"
        data = draw(contexts(prefix))
        ext = draw(st.sampled_from(["yaml", "json", "yml"]))
        name = f"vars{i}.{ext}"
        files[name] = dump_yaml(data, as_json=ext == "json")
        if data and draw(st.integers(0, 2)) == 0:
            chosen = draw(st.lists(st.sampled_from(sorted(data)), min_size=1, max_size=2, unique=True))
            vars_list.append(f"{name}:{','.join(chosen)}")
            context.update({k: data[k] for k in chosen})
        else:
            vars_list.append(name)
            context.update(data)
    if draw(st.booleans()):
        inline = draw(contexts("i_"))
        vars_list.append(inline)
        context.update(inline)

    refs = references(context)
    scalar_refs = [(e, v) for e, v in refs if is_scalar(v) and v is not None]
    stages: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        stage: dict[str, Any] = {}
        local: dict[str, Any] = {}
        if draw(st.integers(0, 3)) == 0:
            local = draw(contexts("s_"))
            stage["vars"] = [local]
        stage_refs = refs + references(local)
        stage["cmd"] = draw(templated_cmd(stage_refs))
        outs = []
        if scalar_refs and draw(st.booleans()):
            expr, _ = draw(st.sampled_from(scalar_refs))
            outs.append(f"out/{i}-${{{expr}}}")
        if outs:
            stage["outs"] = outs
        if scalar_refs and draw(st.integers(0, 3)) == 0:
            expr, _ = draw(st.sampled_from(scalar_refs))
            stage["params"] = [f"k${{{expr}}}", {f"p{i}.yaml": [f"${{{expr}}}"]}]
        if draw(st.integers(0, 3)) == 0:
            descs = ["plain", "plain", "stage ${nope}", *(f"v=${{{e}}}" for e, _ in scalar_refs[:3])]
            stage["desc"] = draw(st.sampled_from(descs))
        stages[f"t{i}"] = stage
    doc: dict[str, Any] = {}
    if vars_list:
        doc["vars"] = vars_list
    doc["stages"] = stages
    files["dvc.yaml"] = dump_yaml(doc, as_json=draw(st.integers(0, 6)) == 0)
    return files


# --------------------------------------------------------------------------- foreach / matrix

foreach_scalars = st.one_of(
    st.integers(-1000, 10**20),
    finite_floats,
    st.booleans(),
    st.none(),
    plain_text,
    st.sampled_from(["x@y", "", "a b", "yes", "010"]),
)


@st.composite
def generated_stages(draw: st.DrawFn) -> dict[str, str | bytes]:
    """foreach (lists of scalars, of dicts, of lists, mappings, ${ref}) and matrix groups."""
    files: dict[str, str | bytes] = {}
    params: dict[str, Any] = {}
    stages: dict[str, Any] = {}
    for g in range(draw(st.integers(1, 3))):
        name = f"g{g}"
        kind = draw(st.sampled_from(["scalars", "dicts", "lists", "mapping", "ref", "matrix", "matrix"]))
        out_dir = draw(st.sampled_from(["out", "data", "out"]))
        if kind == "scalars":
            items = draw(st.lists(foreach_scalars, max_size=4))
            body = {"cmd": draw(st.sampled_from(["run ${item}", ["${item}", "x${item}"]])), "outs": [f"{out_dir}/{g}-${{item}}"]}
            stages[name] = {"foreach": items, "do": body}
        elif kind == "dicts":
            items = draw(st.lists(st.fixed_dictionaries({"n": foreach_scalars, "p": values}), max_size=3))
            body = {"cmd": draw(st.sampled_from(["run ${item.n}", "run ${item}", ["${item.p}"], "k=${key}"]))}
            if draw(st.booleans()):
                body["outs"] = [f"{out_dir}/{g}/${{item.n}}"]
            stages[name] = {"foreach": items, "do": body}
        elif kind == "lists":
            items = draw(st.lists(st.lists(foreach_scalars, min_size=1, max_size=3), max_size=3))
            stages[name] = {"foreach": items, "do": {"cmd": "run ${item[0]} ${item.0}"}}
        elif kind == "mapping":
            mapping = draw(st.dictionaries(plain_text, values, max_size=3))
            body = {"cmd": "run ${key} ${item}", "outs": [f"{out_dir}/{g}-${{key}}"]}
            if draw(st.booleans()):
                body["wdir"] = "${key}"
            stages[name] = {"foreach": mapping, "do": body}
        elif kind == "ref":
            data = draw(st.one_of(st.lists(foreach_scalars, max_size=3), st.dictionaries(plain_text, values, max_size=3)))
            params[f"src{g}"] = data
            key_part = "${key}" if isinstance(data, dict) else "${item}"
            stages[name] = {"foreach": f"${{src{g}}}", "do": {"cmd": f"run {key_part}"}}
        else:
            dims: dict[str, Any] = {}
            for d in draw(st.lists(st.sampled_from(["os", "py", "cfg", "n"]), min_size=1, max_size=3, unique=True)):
                dim_kind = draw(st.integers(0, 4))
                if dim_kind <= 2:
                    dims[d] = draw(st.lists(foreach_scalars, min_size=1, max_size=3))
                elif dim_kind == 3:
                    dims[d] = draw(st.lists(st.dictionaries(keys, scalars, min_size=1, max_size=2), min_size=1, max_size=2))
                else:
                    params[f"dim_{g}_{d}"] = draw(st.lists(foreach_scalars, min_size=1, max_size=3))
                    dims[d] = f"${{dim_{g}_{d}}}"
            first = next(iter(dims))
            stages[name] = {
                "matrix": dims,
                "cmd": draw(st.sampled_from([f"run ${{item.{first}}} ${{key}}", ["${key}", f"${{item.{first}}}"], "run ${item}"])),
                "outs": [f"{out_dir}/{g}-${{key}}"],
            }
    if params:
        files["params.yaml"] = dump_yaml(params)
    files["dvc.yaml"] = dump_yaml({"stages": stages}, as_json=draw(st.integers(0, 6)) == 0)
    return files


# --------------------------------------------------------------------------- everything


@st.composite
def mixed_projects(draw: st.DrawFn) -> dict[str, str | bytes]:
    """A stage graph plus templated and generated stages in subfolders."""
    files = dict(draw(stage_graphs(max_stages=4)))
    for prefix, strategy in (("tpl", templated_projects()), ("gen", generated_stages())):
        if draw(st.booleans()):
            for path, text in draw(strategy).items():
                files[f"{prefix}/{path}"] = text
    if draw(st.integers(0, 4)) == 0:
        files[".dvcignore"] = draw(st.sampled_from(["gen/\n", "other/\n", "*.csv\n", "sub/inner/\n"]))
    return files

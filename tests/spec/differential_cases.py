"""Hand-written projects for the differential test against DVC.

Each case is ``(id, files, verdict)``: ``files`` maps paths (relative to the
project root) to their text; ``verdict`` is what DVC 3 makes of the project,
``OK`` (it loads) or ``REJECT`` (it refuses). The verdict is checked against
the oracle, so a broken oracle cannot make the suite pass vacuously; the full
JSON is compared between mlrepro and DVC.

Helpers keep the data compact: ``y(text)`` dedents a YAML document, and
``one(body)`` wraps the YAML of a single stage named ``a``.

The ids are grouped by feature; a comment above a case says what DVC does when
that is not obvious (these are the behaviours worth knowing when writing the
loader).
"""

from __future__ import annotations

import textwrap

OK = "ok"
REJECT = "reject"

Case = tuple[str, dict[str, str | bytes], str]


def y(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def one(body: str, name: str = "a") -> str:
    """A dvc.yaml with one stage ``name`` whose keys are ``body`` (YAML, any indent)."""
    inner = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"stages:\n  {name}:\n{inner}\n"


CASES: list[Case] = []


def add(case_id: str, files: dict[str, str | bytes], verdict: str) -> None:
    CASES.append((case_id, files, verdict))


# =========================================================================== schema

add("empty-file", {"dvc.yaml": ""}, OK)
add("comment-only", {"dvc.yaml": "# nothing here\n"}, OK)
# `yaml.load(text) or {}`: any falsy document is an empty pipeline.
add("document-null", {"dvc.yaml": "null\n"}, OK)
add("document-empty-list", {"dvc.yaml": "[]\n"}, OK)
add("document-zero", {"dvc.yaml": "0\n"}, OK)
add("document-false", {"dvc.yaml": "false\n"}, OK)
add("document-empty-string", {"dvc.yaml": "''\n"}, OK)
add("document-string", {"dvc.yaml": "hello\n"}, REJECT)
add("document-list", {"dvc.yaml": "- a\n"}, REJECT)
add("document-int", {"dvc.yaml": "1\n"}, REJECT)
add("no-dvc-yaml-at-all", {"README": "x\n"}, OK)
add("stages-empty-mapping", {"dvc.yaml": "stages: {}\n"}, OK)
add("stages-null", {"dvc.yaml": "stages:\n"}, REJECT)
add("stages-list", {"dvc.yaml": "stages: [a]\n"}, REJECT)
add("stages-string", {"dvc.yaml": "stages: a\n"}, REJECT)
add("stage-null", {"dvc.yaml": "stages:\n  a:\n"}, REJECT)
add("stage-empty-mapping", {"dvc.yaml": "stages:\n  a: {}\n"}, REJECT)
add("stage-string", {"dvc.yaml": "stages:\n  a: echo hi\n"}, REJECT)
add("stage-list", {"dvc.yaml": "stages:\n  a: [echo]\n"}, REJECT)
add("cmd-missing", {"dvc.yaml": one("deps: [x]")}, REJECT)
add("top-unknown-key", {"dvc.yaml": "foo: 1\n" + one("cmd: x")}, REJECT)
add("top-live-dvc2", {"dvc.yaml": "live:\n  dir: logs\n" + one("cmd: x")}, REJECT)
add("top-stages-misspelt", {"dvc.yaml": y("""
    stage:
      a:
        cmd: x
    """)}, REJECT)
add("stage-unknown-key", {"dvc.yaml": one("cmd: x\nfoo: 1")}, REJECT)
add("stage-live-dvc2", {"dvc.yaml": one("cmd: x\nlive:\n  logs:\n    html: true")}, REJECT)
add("stage-checkpoints-key", {"dvc.yaml": one("cmd: x\ncheckpoints: [c]")}, REJECT)
add("stage-locked-key", {"dvc.yaml": one("cmd: x\nlocked: true")}, REJECT)
add("stage-md5-key", {"dvc.yaml": one("cmd: x\nmd5: abcdef")}, REJECT)
add("stage-name-key", {"dvc.yaml": one("cmd: x\nname: b")}, REJECT)
add("stage-do-without-foreach", {"dvc.yaml": one("do:\n  cmd: x")}, REJECT)
add("stage-cmd-and-do", {"dvc.yaml": one("cmd: x\ndo:\n  cmd: x")}, REJECT)
add("deps-null", {"dvc.yaml": one("cmd: x\ndeps:")}, REJECT)
add("deps-string", {"dvc.yaml": one("cmd: x\ndeps: a")}, REJECT)
add("deps-int-item", {"dvc.yaml": one("cmd: x\ndeps: [1]")}, REJECT)
add("deps-dict-item", {"dvc.yaml": one("cmd: x\ndeps:\n  - d: {}")}, REJECT)
add("deps-null-item", {"dvc.yaml": one("cmd: x\ndeps: [null]")}, REJECT)
add("deps-empty-list", {"dvc.yaml": one("cmd: x\ndeps: []")}, OK)
add("outs-null", {"dvc.yaml": one("cmd: x\nouts:")}, REJECT)
add("outs-string", {"dvc.yaml": one("cmd: x\nouts: o")}, REJECT)
add("outs-int-item", {"dvc.yaml": one("cmd: x\nouts: [1]")}, REJECT)
add("outs-empty-list", {"dvc.yaml": one("cmd: x\nouts: []")}, OK)
add("outs-flags-null", {"dvc.yaml": one("cmd: x\nouts:\n  - o:")}, REJECT)
add("outs-flags-list", {"dvc.yaml": one("cmd: x\nouts:\n  - o: [cache]")}, REJECT)
add("outs-unknown-flag", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      foo: 1")}, REJECT)
add("outs-plot-prop-not-allowed", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      x: a")}, REJECT)
add("outs-cache-string", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      cache: 'false'")}, REJECT)
add("outs-cache-int", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      cache: 0")}, REJECT)
add("outs-persist-string", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      persist: 'yes'")}, REJECT)
add("outs-push-null", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      push:")}, REJECT)
add("outs-remote-int", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      remote: 1")}, REJECT)
add("outs-remote-null", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      remote:")}, REJECT)
add("outs-desc-int", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      desc: 1")}, REJECT)
add("outs-type-int", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      type: 1")}, REJECT)
add("outs-labels-string", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      labels: a")}, REJECT)
add("outs-labels-int-item", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      labels: [1]")}, REJECT)
add("outs-meta-any-type", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      meta: 1")}, OK)
# DVC 2 had `checkpoint:`; DVC 3's schema still accepts the flag on outs.
add("outs-checkpoint-flag", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      checkpoint: true")}, OK)
add("outs-checkpoint-string", {"dvc.yaml": one("cmd: x\nouts:\n  - o:\n      checkpoint: x")}, REJECT)
add("metrics-unknown-flag", {"dvc.yaml": one("cmd: x\nmetrics:\n  - m.json:\n      foo: 1")}, REJECT)
add("metrics-plot-prop", {"dvc.yaml": one("cmd: x\nmetrics:\n  - m.json:\n      x: a")}, REJECT)
add("metrics-null", {"dvc.yaml": one("cmd: x\nmetrics:")}, REJECT)
add("plots-unknown-prop", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:\n      foo: 1")}, REJECT)
add("plots-flags-null", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:")}, REJECT)
add("plots-y-list", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:\n      y: [a, b]")}, REJECT)
add("plots-x-dict", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:\n      x: {p.csv: a}")}, REJECT)
add("plots-header-string", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:\n      header: 'no'")}, REJECT)
# The schema lets a list of prop mappings through; the loader then refuses it.
add("plots-props-as-list", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv:\n      - x: a\n      - y: b")}, REJECT)
add("plots-props-empty-list", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv: []")}, REJECT)
add("frozen-string", {"dvc.yaml": one("cmd: x\nfrozen: 'true'")}, REJECT)
add("frozen-int", {"dvc.yaml": one("cmd: x\nfrozen: 1")}, REJECT)
add("frozen-null", {"dvc.yaml": one("cmd: x\nfrozen:")}, REJECT)
add("always-changed-string", {"dvc.yaml": one("cmd: x\nalways_changed: 'yes'")}, REJECT)
add("desc-int", {"dvc.yaml": one("cmd: x\ndesc: 1")}, REJECT)
add("desc-null", {"dvc.yaml": one("cmd: x\ndesc:")}, REJECT)
add("meta-anything", {"dvc.yaml": one("cmd: x\nmeta: {a: [1, {b: null}], c: 2.5}")}, OK)
add("meta-scalar", {"dvc.yaml": one("cmd: x\nmeta: 3")}, OK)
add("meta-null", {"dvc.yaml": one("cmd: x\nmeta:")}, OK)
add("wdir-null", {"dvc.yaml": one("cmd: x\nwdir:")}, REJECT)
add("wdir-int", {"dvc.yaml": one("cmd: x\nwdir: 1")}, REJECT)
add("wdir-list", {"dvc.yaml": one("cmd: x\nwdir: [a]")}, REJECT)
add("params-null", {"dvc.yaml": one("cmd: x\nparams:")}, REJECT)
add("params-string", {"dvc.yaml": one("cmd: x\nparams: lr")}, REJECT)
add("params-int-item", {"dvc.yaml": one("cmd: x\nparams: [1]")}, REJECT)
add("params-list-item", {"dvc.yaml": one("cmd: x\nparams: [[lr]]")}, REJECT)
# The schema only says "str or dict"; the loader refuses a non-list value.
add("params-file-value-string", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: lr")}, REJECT)
add("params-file-value-dict", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: {lr: 1}")}, REJECT)
add("params-file-value-int", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: 3")}, REJECT)
add("vars-null", {"dvc.yaml": "vars:\n" + one("cmd: x")}, REJECT)
add("vars-string", {"dvc.yaml": "vars: v.yaml\n" + one("cmd: x"), "v.yaml": "a: 1\n"}, REJECT)
add("vars-int-item", {"dvc.yaml": "vars: [1]\n" + one("cmd: x")}, REJECT)
add("vars-list-item", {"dvc.yaml": "vars: [[a]]\n" + one("cmd: x")}, REJECT)
add("stage-vars-null", {"dvc.yaml": one("cmd: x\nvars:")}, REJECT)
add("stage-vars-string", {"dvc.yaml": one("cmd: x\nvars: v.yaml"), "v.yaml": "a: 1\n"}, REJECT)
add("foreach-without-do", {"dvc.yaml": one("foreach: [a]")}, REJECT)
add("foreach-do-null", {"dvc.yaml": one("foreach: [a]\ndo:")}, REJECT)
add("foreach-do-without-cmd", {"dvc.yaml": one("foreach: [a]\ndo:\n  deps: [x]")}, REJECT)
add("foreach-extra-key-beside-do", {"dvc.yaml": one("foreach: [a]\ndo:\n  cmd: x\ndesc: d")}, REJECT)
add("foreach-int", {"dvc.yaml": one("foreach: 3\ndo:\n  cmd: x")}, REJECT)
add("foreach-null", {"dvc.yaml": one("foreach:\ndo:\n  cmd: x")}, REJECT)
add("foreach-and-matrix", {"dvc.yaml": one("foreach: [a]\nmatrix: {x: [1]}\ndo:\n  cmd: x")}, REJECT)
add("foreach-and-matrix-no-do", {"dvc.yaml": one("foreach: [a]\nmatrix: {x: [1]}\ncmd: x")}, REJECT)
add("matrix-and-do", {"dvc.yaml": one("matrix: {x: [1]}\ndo:\n  cmd: x")}, REJECT)
add("matrix-list", {"dvc.yaml": one("matrix: [1, 2]\ncmd: x")}, REJECT)
add("matrix-string", {"dvc.yaml": one("matrix: abc\ncmd: x")}, REJECT)
add("matrix-dim-int", {"dvc.yaml": one("matrix: {x: 1}\ncmd: x")}, REJECT)
add("matrix-dim-dict", {"dvc.yaml": one("matrix: {x: {a: 1}}\ncmd: x")}, REJECT)
add("matrix-int-dim-name", {"dvc.yaml": one("matrix: {1: [a]}\ncmd: x")}, REJECT)
add("matrix-without-cmd", {"dvc.yaml": one("matrix: {x: [1]}\ndeps: [a]")}, REJECT)
# The schema checks the raw YAML, before templating: `matrix: ${m}` is a str.
add("matrix-whole-reference", {
    "params.yaml": "m: {x: [1, 2]}\n",
    "dvc.yaml": one("matrix: ${m}\ncmd: echo ${item.x}"),
}, REJECT)

# =========================================================================== cmd

add("cmd-plain", {"dvc.yaml": one("cmd: python train.py --epochs 3")}, OK)
add("cmd-empty-string", {"dvc.yaml": one("cmd: ''")}, OK)
add("cmd-whitespace-kept", {"dvc.yaml": one("cmd: '  echo   a  '")}, OK)
add("cmd-list", {"dvc.yaml": one("cmd:\n  - python prep.py\n  - python train.py")}, OK)
add("cmd-list-flow", {"dvc.yaml": one("cmd: [echo, 'a b', '']")}, OK)
add("cmd-empty-list", {"dvc.yaml": one("cmd: []")}, OK)
# A list is only checked to be a list: its items keep their YAML types.
add("cmd-list-of-numbers", {"dvc.yaml": one("cmd: [1, 2.5, true, null]")}, OK)
add("cmd-list-nested", {"dvc.yaml": one("cmd: [[echo, a], {b: c}]")}, OK)
add("cmd-int", {"dvc.yaml": one("cmd: 1")}, REJECT)
add("cmd-bool", {"dvc.yaml": one("cmd: true")}, REJECT)
add("cmd-null", {"dvc.yaml": one("cmd:")}, REJECT)
add("cmd-mapping", {"dvc.yaml": one("cmd: {a: 1}")}, REJECT)
add("cmd-literal-block", {"dvc.yaml": one("cmd: |\n  echo one\n    two  \n  three")}, OK)
add("cmd-literal-block-strip", {"dvc.yaml": one("cmd: |-\n  echo one\n  two")}, OK)
add("cmd-literal-block-keep", {"dvc.yaml": "stages:\n  a:\n    cmd: |+\n      echo one\n\n\n  b:\n    cmd: x\n"}, OK)
add("cmd-folded-block", {"dvc.yaml": one("cmd: >\n  python train.py\n  --epochs 3\n\n  --lr 0.1")}, OK)
add("cmd-folded-block-more-indented", {"dvc.yaml": one("cmd: >\n  a\n    b\n  c")}, OK)
add("cmd-folded-strip", {"dvc.yaml": one("cmd: >-\n  a\n  b")}, OK)
add("cmd-block-explicit-indent", {"dvc.yaml": one("cmd: |2\n   indented\n  not")}, OK)
add("cmd-double-quoted-escapes", {"dvc.yaml": one(r'cmd: "tab\there\nnewline \u00e9 \\ \""')}, OK)
add("cmd-single-quoted", {"dvc.yaml": one("cmd: 'it''s a \\n'")}, OK)
add("cmd-multiline-plain", {"dvc.yaml": one("cmd: echo one\n  two\n\n  three")}, OK)
add("cmd-with-hash", {"dvc.yaml": one("cmd: echo a #comment\n")}, OK)
add("cmd-with-colon", {"dvc.yaml": one("cmd: 'echo a: b'")}, OK)
add("cmd-unicode", {"dvc.yaml": one("cmd: echo héllo 日本 😀")}, OK)
add("cmd-list-with-blocks", {"dvc.yaml": one("cmd:\n  - |\n    a\n    b\n  - >\n    c\n    d")}, OK)

# =========================================================================== wdir

add("wdir-subdir", {"dvc.yaml": one("cmd: x\nwdir: sub\ndeps: [in.csv]\nouts: [out]"), "sub/": ""}, OK)
add("wdir-dot", {"dvc.yaml": one("cmd: x\nwdir: .\ndeps: [a]")}, OK)
add("wdir-dotslash", {"dvc.yaml": one("cmd: x\nwdir: ./sub/\ndeps: [a]")}, OK)
# `wdir: ''` is falsy, so DVC treats it as absent.
add("wdir-empty-string", {"dvc.yaml": one("cmd: x\nwdir: ''\ndeps: [a]")}, OK)
# DVC does not check at load time that the wdir exists or is a directory.
add("wdir-missing-dir", {"dvc.yaml": one("cmd: x\nwdir: nowhere\ndeps: [a]\nouts: [b]")}, OK)
add("wdir-is-a-file", {"dvc.yaml": one("cmd: x\nwdir: f.txt\ndeps: [a]"), "f.txt": "x"}, OK)
add("wdir-nested-normalised", {"dvc.yaml": one("cmd: x\nwdir: a/../b/./c//\ndeps: [d]")}, OK)
add("wdir-dotdot-from-subdir", {"sub/dvc.yaml": one("cmd: x\nwdir: ..\ndeps: [data]\nouts: [sub/o]")}, OK)
add("wdir-dotdot-outside-root", {"dvc.yaml": one("cmd: x\nwdir: ..\ndeps: [data]\nouts: [o]")}, OK)
add("wdir-two-levels-up", {"a/b/dvc.yaml": one("cmd: x\nwdir: ../..\ndeps: [x]")}, OK)
add("wdir-params-bare-key", {"dvc.yaml": one("cmd: x\nwdir: sub\nparams: [lr]")}, OK)
add("wdir-from-subdir-sibling", {"a/dvc.yaml": one("cmd: x\nwdir: ../b\ndeps: [i]\nouts: [o]")}, OK)
add("wdir-interpolated", {"params.yaml": "d: data\n", "dvc.yaml": one("cmd: x\nwdir: ${d}/raw\nouts: [o]")}, OK)
add("wdir-exact-interpolated", {"params.yaml": "d: data\n", "dvc.yaml": one("cmd: x\nwdir: ${d}\nouts: [o]")}, OK)
# An int reaching `wdir` through `${}` crashes DVC's path join.
add("wdir-interpolated-int", {"params.yaml": "d: 5\n", "dvc.yaml": one("cmd: x\nwdir: ${d}")}, REJECT)
add("wdir-interpolated-undefined", {"dvc.yaml": one("cmd: x\nwdir: ${nope}")}, REJECT)

# =========================================================================== deps and paths

add("deps-basic", {"dvc.yaml": one("cmd: x\ndeps: [data/raw.csv, src/prep.py]")}, OK)
add("deps-sorted-and-duplicates-kept", {"dvc.yaml": one("cmd: x\ndeps: [b, a, b, ./a, a/]")}, OK)
add("deps-normalised", {"dvc.yaml": one(
    "cmd: x\ndeps: ['./x', 'a//b', 'c/./d', 'e/../f', 'g/', 'h/..', 'i/j/../../k']")}, OK)
add("deps-root-and-parent", {"dvc.yaml": one("cmd: x\ndeps: ['.', '..', '../up', './']")}, OK)
add("deps-from-subdir", {"sub/dvc.yaml": one("cmd: x\ndeps: [a, ../b, ./c/, ../sub/d]")}, OK)
add("deps-unicode-sorted", {"dvc.yaml": one("cmd: x\ndeps: [é, z, Z, a😀, aﬀ, 日本, '_', '-', '~']")}, OK)
add("deps-spaces", {"dvc.yaml": one("cmd: x\ndeps: [' a ', 'b c']")}, OK)
add("deps-colon-in-name", {"dvc.yaml": one("cmd: x\ndeps: ['a:b', 'c:']")}, OK)
add("deps-tilde-and-dollar-literal", {"dvc.yaml": one("cmd: x\ndeps: ['~/x', '$HOME/y']")}, OK)
add("deps-backslash-literal", {"dvc.yaml": one("cmd: x\ndeps: ['a\\b']")}, OK)
add("deps-http-url-verbatim", {"dvc.yaml": one(
    "cmd: x\ndeps: ['https://example.com//a/./b/', 'http://example.com', 'HTTPS://E.com/X']")}, OK)
add("deps-absolute-verbatim", {"dvc.yaml": one("cmd: x\ndeps: ['/opt/data//x/', '/opt/./y/../z']")}, OK)
# A scheme with an authority that DVC has no filesystem for is a config error.
add("deps-unknown-url-scheme", {"dvc.yaml": one("cmd: x\ndeps: ['foo://bucket/key']")}, REJECT)
add("deps-dc-url-scheme", {"dvc.yaml": one("cmd: x\ndeps: ['dc://dogs']")}, REJECT)
# `remote://name/path` needs a remote of that name in .dvc/config.
add("deps-remote-url-unknown-remote", {"dvc.yaml": one("cmd: x\ndeps: ['remote://r/x']")}, REJECT)
# Dataset deps (`ds://`) fail to load without a dvc.lock entry.
add("deps-dataset-url", {"dvc.yaml": y("""
    datasets:
      - name: dogs
        type: dc
        url: dc://dogs
    stages:
      a:
        cmd: x
        deps: ['ds://dogs']
    """)}, REJECT)
add("deps-dvc-yaml-is-stage-file", {"dvc.yaml": one("cmd: x\ndeps: [dvc.yaml]")}, REJECT)
add("deps-dot-dvc-file", {"dvc.yaml": one("cmd: x\ndeps: [data.dvc]")}, REJECT)
add("deps-subdir-dvc-yaml", {"dvc.yaml": one("cmd: x\ndeps: [sub/dvc.yaml]")}, REJECT)
add("deps-dvc-lock-allowed", {"dvc.yaml": one("cmd: x\ndeps: [dvc.lock]")}, OK)
add("deps-inside-dot-dvc-allowed", {"dvc.yaml": one("cmd: x\ndeps: [.dvc/config]")}, OK)
add("deps-dvcignored-allowed", {".dvcignore": "*.tmp\n", "dvc.yaml": one("cmd: x\ndeps: [a.tmp]")}, OK)
add("deps-interpolated", {"params.yaml": "d: {raw: data/raw.csv}\n", "dvc.yaml": one(
    "cmd: x\ndeps: ['${d.raw}', 'src/${d.raw}']")}, OK)
# An exact `${x}` that is not a string reaches DVC's path code and crashes it.
add("deps-interpolated-int", {"params.yaml": "n: 5\n", "dvc.yaml": one("cmd: x\ndeps: ['${n}']")}, REJECT)
add("deps-interpolated-null", {"params.yaml": "n: null\n", "dvc.yaml": one("cmd: x\ndeps: ['${n}']")}, REJECT)
add("deps-interpolated-list", {"params.yaml": "l: [a, b]\n", "dvc.yaml": one("cmd: x\ndeps: ['${l}']")}, REJECT)
add("deps-interpolated-dict", {"params.yaml": "d: {a: b}\n", "dvc.yaml": one("cmd: x\ndeps: ['${d}']")}, REJECT)
# The schema sees `deps: ${l}` as a string before templating.
add("deps-whole-list-reference", {"params.yaml": "l: [a, b]\n", "dvc.yaml": one("cmd: x\ndeps: ${l}")}, REJECT)
add("deps-embedded-int", {"params.yaml": "n: 5\n", "dvc.yaml": one("cmd: x\ndeps: ['part-${n}.csv']")}, OK)
add("deps-embedded-float-bool-null", {"params.yaml": "f: 0.5\nb: false\nn: null\n", "dvc.yaml": one(
    "cmd: x\ndeps: ['f${f}', 'b${b}', 'n${n}']")}, OK)

# =========================================================================== outs, metrics, plots

add("outs-basic", {"dvc.yaml": one("cmd: x\nouts: [model.pkl, data/prepared/]")}, OK)
add("outs-sorted", {"dvc.yaml": one("cmd: x\nouts: [b, a, C, é, _x]")}, OK)
add("outs-all-flags", {"dvc.yaml": one(y("""
    cmd: x
    outs:
      - o:
          cache: false
          persist: true
          push: false
          remote: myremote
          desc: the model
          type: model
          labels: [a, b]
          meta: {framework: sklearn}
    """))}, OK)
add("outs-flags-explicit-defaults", {"dvc.yaml": one(
    "cmd: x\nouts:\n  - o:\n      cache: true\n      persist: false\n      push: true")}, OK)
add("outs-flags-empty-mapping", {"dvc.yaml": one("cmd: x\nouts:\n  - o: {}")}, OK)
add("outs-two-paths-in-one-entry", {"dvc.yaml": one("cmd: x\nouts:\n  - {o: {cache: false}, p: {persist: true}}")}, OK)
# Entries of one section that name the same path are merged into one output
# (later flags win), not reported as a duplicate.
add("outs-same-path-twice-merged", {"dvc.yaml": one("cmd: x\nouts: [o, {o: {cache: false}}]")}, OK)
add("outs-same-path-flags-merged", {"dvc.yaml": one(
    "cmd: x\nouts:\n  - o: {cache: false}\n  - o: {persist: true}\n  - o: {cache: true}")}, OK)
# ... but only when the key is the same string: `o` and `./o` are two outputs.
add("outs-same-path-different-spelling", {"dvc.yaml": one("cmd: x\nouts: [o, ./o]")}, REJECT)
add("outs-annotations-only", {"dvc.yaml": one(
    "cmd: x\nouts:\n  - m.pkl:\n      desc: d\n      type: model\n      labels: [x]\n      meta: 1")}, OK)
add("metrics-basic", {"dvc.yaml": one("cmd: x\nmetrics: [metrics.json, {scores.json: {cache: false}}]")}, OK)
add("metrics-all-flags", {"dvc.yaml": one(
    "cmd: x\nmetrics:\n  - m.json:\n      cache: false\n      persist: true\n      push: false\n      remote: r\n      desc: d")}, OK)
add("plots-basic", {"dvc.yaml": one("cmd: x\nplots: [a.csv, {b.json: {x: step, y: loss}}]")}, OK)
add("plots-all-props", {"dvc.yaml": one(y("""
    cmd: x
    plots:
      - p.csv:
          x: a
          y: b
          x_label: xl
          y_label: yl
          title: t
          template: linear
          header: true
          cache: false
          persist: true
          push: false
          remote: r
          desc: d
          type: t
          labels: [l]
          meta: {m: 1}
    """))}, OK)
add("plots-props-empty-mapping", {"dvc.yaml": one("cmd: x\nplots:\n  - p.csv: {}")}, OK)
add("outs-metrics-plots-together", {"dvc.yaml": one(
    "cmd: x\nouts: [model]\nmetrics: [m.json]\nplots: [p.csv]")}, OK)
add("outs-from-subdir", {"sub/dvc.yaml": one("cmd: x\nouts: [o, ../p, ./q/]\nmetrics: [../m.json]")}, OK)
add("outs-with-wdir", {"dvc.yaml": one("cmd: x\nwdir: w\nouts: [o, ../p]\nplots: [q.csv]")}, OK)
add("outs-outside-root", {"dvc.yaml": one("cmd: x\nouts: [../outside]")}, OK)
add("outs-absolute", {"dvc.yaml": one("cmd: x\nouts: [/opt/out/model.pkl]")}, OK)
add("outs-http-url", {"dvc.yaml": one("cmd: x\nouts: ['https://example.com/o']")}, OK)
add("outs-dvc-yaml", {"dvc.yaml": one("cmd: x\nouts: [dvc.yaml]")}, REJECT)
add("outs-sub-dvc-yaml", {"dvc.yaml": one("cmd: x\nouts: [sub/dvc.yaml]")}, REJECT)
add("outs-dot-dvc-file", {"dvc.yaml": one("cmd: x\nouts: [data.dvc]")}, REJECT)
add("metrics-dot-dvc-file", {"dvc.yaml": one("cmd: x\nmetrics: [m.dvc]")}, REJECT)
add("outs-dvc-lock-allowed", {"dvc.yaml": one("cmd: x\nouts: [dvc.lock]")}, OK)
# Outputs matched by .dvcignore (and anything under .dvc/ or .git/) are refused.
add("outs-dvcignored", {".dvcignore": "*.tmp\n", "dvc.yaml": one("cmd: x\nouts: [o.tmp]")}, REJECT)
add("outs-dvcignored-dir", {".dvcignore": "build/\n", "dvc.yaml": one("cmd: x\nouts: [build/x]")}, REJECT)
add("metrics-dvcignored", {".dvcignore": "m.json\n", "dvc.yaml": one("cmd: x\nmetrics: [m.json]")}, REJECT)
add("outs-dvcignore-negated", {".dvcignore": "*.tmp\n!keep.tmp\n", "dvc.yaml": one("cmd: x\nouts: [keep.tmp]")}, OK)
add("outs-in-dot-dvc", {"dvc.yaml": one("cmd: x\nouts: [.dvc/foo]")}, REJECT)
add("outs-in-dot-git", {"dvc.yaml": one("cmd: x\nouts: [.git/foo]")}, REJECT)
add("outs-gitignored-allowed", {".gitignore": "o\n", "dvc.yaml": one("cmd: x\nouts: [o]")}, OK)
add("outs-project-root", {"dvc.yaml": one("cmd: x\nouts: [.]")}, REJECT)
add("outs-interpolated", {"params.yaml": "m: model\n", "dvc.yaml": one(
    "cmd: x\nouts: ['out/${m}.pkl']\nmetrics: ['${m}.json']")}, OK)
# Keys of out mappings are interpolated too.
add("outs-interpolated-key", {"params.yaml": "m: model\n", "dvc.yaml": one(
    "cmd: x\nouts:\n  - ${m}.pkl:\n      cache: false")}, OK)
add("outs-interpolated-flag-rejected-by-schema", {"params.yaml": "c: false\n", "dvc.yaml": one(
    "cmd: x\nouts:\n  - o:\n      cache: ${c}")}, REJECT)
add("outs-interpolated-remote", {"params.yaml": "r: store\n", "dvc.yaml": one(
    "cmd: x\nouts:\n  - o:\n      remote: ${r}")}, OK)

# =========================================================================== params

add("params-bare-keys", {"dvc.yaml": one("cmd: x\nparams: [lr, train.epochs, lr]")}, OK)
add("params-bare-keys-sorted", {"dvc.yaml": one("cmd: x\nparams: [z, a, B, é, a.b]")}, OK)
add("params-file-with-list", {"dvc.yaml": one("cmd: x\nparams:\n  - p.json: [z, y, z]")}, OK)
add("params-file-empty-list-whole", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: []")}, OK)
add("params-file-none-whole", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml:")}, OK)
add("params-dict-several-files", {"dvc.yaml": one("cmd: x\nparams:\n  - {q.yaml: [k], r.toml: [m]}")}, OK)
add("params-same-file-merged", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: [a]\n  - p.yaml: [b, a]")}, OK)
add("params-same-file-whole-wins", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: [a]\n  - p.yaml:")}, OK)
add("params-same-file-whole-first", {"dvc.yaml": one("cmd: x\nparams:\n  - p.yaml: []\n  - p.yaml: [a]")}, OK)
add("params-same-file-spelled-differently", {"dvc.yaml": one(
    "cmd: x\nparams:\n  - p.yaml: [a]\n  - ./p.yaml: [b]")}, OK)
add("params-same-file-spelled-differently-whole", {"dvc.yaml": one(
    "cmd: x\nparams:\n  - p.yaml: [a]\n  - ./p.yaml:")}, OK)
add("params-whole-params-yaml-and-bare", {"dvc.yaml": one("cmd: x\nparams:\n  - lr\n  - params.yaml:")}, OK)
add("params-whole-params-yaml-dotslash-and-bare", {"dvc.yaml": one("cmd: x\nparams:\n  - lr\n  - ./params.yaml:")}, OK)
add("params-explicit-params-yaml-and-bare", {"dvc.yaml": one("cmd: x\nparams:\n  - params.yaml: [a]\n  - b")}, OK)
add("params-all-formats", {"dvc.yaml": one(
    "cmd: x\nparams:\n  - p.yaml: [a]\n  - p.yml: [b]\n  - p.json: [c]\n  - p.toml: [d]\n  - p.py: [E]")}, OK)
add("params-files-exist-or-not", {"p.yaml": "a: 1\n", "dvc.yaml": one(
    "cmd: x\nparams:\n  - p.yaml: [a, missing]\n  - absent.yaml: [b]")}, OK)
add("params-empty-list", {"dvc.yaml": one("cmd: x\nparams: []")}, OK)
add("params-empty-dict-entry", {"dvc.yaml": one("cmd: x\nparams: [{}]")}, OK)
add("params-wildcards-kept", {"dvc.yaml": one("cmd: x\nparams:\n  - 'a.*'\n  - p.yaml: ['*', 'b.*.c']")}, OK)
add("params-with-wdir", {"dvc.yaml": one("cmd: x\nwdir: sub\nparams:\n  - lr\n  - ../p.yaml: [k]\n  - ./q.yaml:")}, OK)
add("params-in-subdir-dvc-yaml", {"sub/dvc.yaml": one("cmd: x\nparams: [lr, {../top.yaml: [a]}]")}, OK)
add("params-file-normalised", {"dvc.yaml": one("cmd: x\nparams:\n  - ./conf//p.yaml: [a]\n  - conf/x/../q.yaml: [b]")}, OK)
add("params-directory-path", {"dvc.yaml": one("cmd: x\nparams:\n  - conf/: [a]")}, OK)
add("params-url", {"dvc.yaml": one("cmd: x\nparams:\n  - 'https://example.com/p.yaml': [a]")}, OK)
add("params-absolute", {"dvc.yaml": one("cmd: x\nparams:\n  - /opt/p.yaml: [a]")}, OK)
add("params-interpolated-key", {"params.yaml": "k: lr\nf: conf.yaml\n", "dvc.yaml": one(
    "cmd: x\nparams:\n  - ${k}\n  - ${f}: ['${k}', 'opt.${k}']")}, OK)
add("params-used-only-in-templating-are-not-params", {"params.yaml": "lr: 0.1\n", "dvc.yaml": one(
    "cmd: python train.py --lr ${lr}")}, OK)
add("params-and-deps-same-file", {"dvc.yaml": one("cmd: x\ndeps: [params.yaml]\nparams: [lr]")}, OK)
add("params-file-is-own-output", {"dvc.yaml": one("cmd: x\nouts: [params.yaml]\nparams: [lr]")}, REJECT)
add("params-file-produced-by-other-stage", {"dvc.yaml": y("""
    stages:
      gen:
        cmd: gen
        outs: [conf/p.yaml, params.yaml]
      use:
        cmd: use
        params:
          - conf/p.yaml: [a]
      bare:
        cmd: bare
        params: [lr]
    """)}, OK)
add("params-file-inside-output-dir", {"dvc.yaml": y("""
    stages:
      gen:
        cmd: gen
        outs: [conf]
      use:
        cmd: use
        params:
          - conf/p.yaml:
    """)}, OK)
add("params-unicode-keys", {"dvc.yaml": one("cmd: x\nparams: [é, z, Z, 日本]")}, OK)
add("params-dotted-file-name-only", {"dvc.yaml": one("cmd: x\nparams: [p.yaml]")}, OK)

# =========================================================================== frozen, always_changed, desc, meta

add("frozen-true", {"dvc.yaml": one("cmd: x\nfrozen: true")}, OK)
add("frozen-false", {"dvc.yaml": one("cmd: x\nfrozen: false")}, OK)
add("always-changed-true", {"dvc.yaml": one("cmd: x\nalways_changed: true")}, OK)
add("frozen-and-always-changed", {"dvc.yaml": one("cmd: x\nfrozen: true\nalways_changed: true")}, OK)
add("desc-and-meta-not-reported", {"dvc.yaml": one("cmd: x\ndesc: trains the model\nmeta: {owner: me}")}, OK)
# The schema runs on the raw YAML: `frozen: ${f}` is a string there.
add("frozen-interpolated-rejected-by-schema", {"params.yaml": "f: true\n", "dvc.yaml": one(
    "cmd: x\nfrozen: ${f}")}, REJECT)
add("desc-interpolated", {"params.yaml": "d: hello\n", "dvc.yaml": one("cmd: x\ndesc: say ${d}")}, OK)
# `desc` is a str in the schema, but an exact `${x}` may then give an int.
add("desc-exact-int", {"params.yaml": "d: 5\n", "dvc.yaml": one("cmd: x\ndesc: ${d}")}, OK)
add("desc-undefined", {"dvc.yaml": one("cmd: x\ndesc: ${nope}")}, REJECT)
add("meta-undefined", {"dvc.yaml": one("cmd: x\nmeta: {a: '${nope}'}")}, REJECT)
add("meta-exact-dict-rejected", {"params.yaml": "d: {a: 1}\n", "dvc.yaml": one("cmd: x\nmeta: ${d}")}, REJECT)

# =========================================================================== templating: ${...}

add("tpl-dotted", {"params.yaml": "a: {b: {c: deep}}\n", "dvc.yaml": one("cmd: echo ${a.b.c}")}, OK)
add("tpl-index", {"params.yaml": "l: [x, y]\n", "dvc.yaml": one("cmd: echo ${l[0]} ${l[1]}")}, OK)
add("tpl-index-as-dot", {"params.yaml": "l: [x, y]\n", "dvc.yaml": one("cmd: echo ${l.1}")}, OK)
add("tpl-bracket-key", {"params.yaml": "a: {b: [{c: 5}, {c: 6}]}\n", "dvc.yaml": one(
    "cmd: echo ${a.b[1].c} ${a[b][0][c]} ${a.b.0.c}")}, OK)
add("tpl-spaces-inside", {"params.yaml": "a: {b: 1}\n", "dvc.yaml": one("cmd: echo ${ a.b } ${a. b}")}, OK)
add("tpl-index-out-of-range", {"params.yaml": "l: [x]\n", "dvc.yaml": one("cmd: echo ${l[3]}")}, REJECT)
add("tpl-index-on-scalar", {"params.yaml": "s: x\n", "dvc.yaml": one("cmd: echo ${s.a}")}, REJECT)
add("tpl-negative-index", {"params.yaml": "l: [x, y]\n", "dvc.yaml": one("cmd: echo ${l[-1]}")}, OK)
add("tpl-exact-int-in-cmd-list", {"params.yaml": "i: 1\nf: 1.5\nb: true\nn: null\ns: str\n", "dvc.yaml": one(
    "cmd: ['${i}', '${f}', '${b}', '${n}', '${s}', 'x${i}']")}, OK)
add("tpl-exact-int-cmd", {"params.yaml": "i: 7\n", "dvc.yaml": one("cmd: ${i}")}, OK)
add("tpl-exact-bool-cmd", {"params.yaml": "b: false\n", "dvc.yaml": one("cmd: ${b}")}, OK)
add("tpl-exact-null-cmd", {"params.yaml": "n: null\n", "dvc.yaml": one("cmd: ${n}")}, OK)
add("tpl-embedded-scalars", {"params.yaml": y("""
    i: 1
    f: 1.5
    g: 1.0
    e: 1e3
    t: true
    n: null
    s: str
    big: 12345678901234567890
    neg: -0.0
    small: 1.0e-7
    octal: 0o17
    hex: 0x1f
    inf: .inf
    nan: .nan
    """), "dvc.yaml": one(
    "cmd: '${i} ${f} ${g} ${e} ${t} ${n} ${s} ${big} ${neg} ${small} ${octal} ${hex} ${inf} ${nan}'")}, OK)
add("tpl-adjacent", {"params.yaml": "a: 1\nb: x\n", "dvc.yaml": one("cmd: ${a}${b}")}, OK)
add("tpl-escaped", {"params.yaml": "i: 1\n", "dvc.yaml": one(r"cmd: echo \${i} ${i} \\${i} \${nope}")}, OK)
# `\${` is unescaped even in strings that interpolate nothing.
add("tpl-escaped-only", {"dvc.yaml": one(r"cmd: echo \${a}" + "\ndeps: ['\\${b}']")}, OK)
add("tpl-dollar-without-brace", {"dvc.yaml": one("cmd: echo $HOME ${HOME")}, OK)
add("tpl-extra-closing-brace", {"params.yaml": "a: 1\n", "dvc.yaml": one("cmd: echo ${a}}")}, OK)
add("tpl-unclosed", {"params.yaml": "a: 1\n", "dvc.yaml": one("cmd: echo ${a")}, OK)
add("tpl-undefined", {"dvc.yaml": one("cmd: echo ${nope}")}, REJECT)
add("tpl-undefined-nested", {"params.yaml": "a: {b: 1}\n", "dvc.yaml": one("cmd: echo ${a.c}")}, REJECT)
add("tpl-undefined-in-unused-stage", {"dvc.yaml": y("""
    stages:
      a:
        cmd: x
      b:
        cmd: echo ${nope}
    """)}, REJECT)
add("tpl-syntax-double-dot", {"params.yaml": "a: {b: 1}\n", "dvc.yaml": one("cmd: echo ${a..b}")}, REJECT)
add("tpl-syntax-trailing-dot", {"params.yaml": "a: {b: 1}\n", "dvc.yaml": one("cmd: echo ${a.b.}")}, REJECT)
add("tpl-syntax-empty", {"dvc.yaml": one("cmd: echo ${}")}, REJECT)
add("tpl-syntax-bad-bracket", {"params.yaml": "a: {b: 1}\n", "dvc.yaml": one("cmd: echo ${a.b]}")}, REJECT)
add("tpl-syntax-error-in-unused-field", {"dvc.yaml": one("cmd: x\ndesc: ${a..b}")}, REJECT)
add("tpl-list-embedded-in-cmd", {"params.yaml": "l: [1, 2]\n", "dvc.yaml": one("cmd: run ${l}")}, REJECT)
add("tpl-list-exact-in-cmd", {"params.yaml": "l: [1, 2]\n", "dvc.yaml": one("cmd: ${l}")}, REJECT)
add("tpl-list-in-cmd-list", {"params.yaml": "l: [1, 2]\n", "dvc.yaml": one("cmd: ['${l}']")}, REJECT)
add("tpl-list-in-out", {"params.yaml": "l: [1, 2]\n", "dvc.yaml": one("cmd: x\nouts: ['o${l}']")}, REJECT)
add("tpl-dict-in-out", {"params.yaml": "d: {a: 1}\n", "dvc.yaml": one("cmd: x\nouts: ['o${d}']")}, REJECT)
add("tpl-dict-in-desc", {"params.yaml": "d: {a: 1}\n", "dvc.yaml": one("cmd: x\ndesc: 'o ${d}'")}, REJECT)
add("tpl-in-mapping-keys", {"params.yaml": "k: kk\n", "dvc.yaml": one(
    "cmd: x\nouts:\n  - ${k}.txt:\n      cache: false\nmetrics:\n  - m_${k}.json: {}")}, OK)
# Stage names are never interpolated.
add("tpl-in-stage-name-literal", {"params.yaml": "k: kk\n", "dvc.yaml": one("cmd: echo", name="${k}")}, OK)
add("tpl-value-from-json-params", {"params.yaml": "a: 1\n", "vars.json": '{"b": {"c": [1, 2]}}', "dvc.yaml":
    "vars: [vars.json]\n" + one("cmd: echo ${a} ${b.c[1]}")}, OK)
add("tpl-non-string-keys-in-params-ignored", {"params.yaml": "1: a\nx: {2: b, c: d}\n", "dvc.yaml": one(
    "cmd: echo ${x}")}, OK)
add("tpl-non-string-key-unreachable", {"params.yaml": "x: {2: b}\n", "dvc.yaml": one("cmd: echo ${x.2}")}, REJECT)
add("tpl-unicode-keys", {"params.yaml": "é: {日本: ok}\n", "dvc.yaml": one("cmd: echo ${é.日本}")}, OK)
add("tpl-key-with-dash", {"params.yaml": "a-b: {c_d: 1}\n", "dvc.yaml": one("cmd: echo ${a-b.c_d}")}, OK)
add("tpl-block-cmd", {"params.yaml": "a: 1\n", "dvc.yaml": one("cmd: |\n  echo ${a}\n  echo \\${a}")}, OK)

# =========================================================================== templating: dict unpacking in cmd

add("unpack-flat", {"params.yaml": "d: {a: 1, s: 'x y', f: 1.5, n: null}\n", "dvc.yaml": one(
    "cmd: python train.py ${d}")}, OK)
add("unpack-nested", {"params.yaml": "d: {a: {b: {c: 1}}, e: 2}\n", "dvc.yaml": one("cmd: run ${d}")}, OK)
add("unpack-bools", {"params.yaml": "d: {yes_flag: true, no_flag: false, z: 1}\n", "dvc.yaml": one(
    "cmd: run ${d}")}, OK)
add("unpack-list", {"params.yaml": "d: {l: [1, x, 'a b', true, null, 1.5]}\n", "dvc.yaml": one(
    "cmd: run ${d}")}, OK)
add("unpack-empty-list", {"params.yaml": "d: {l: [], a: 1}\n", "dvc.yaml": one("cmd: run ${d} end")}, OK)
add("unpack-empty-dict", {"params.yaml": "d: {}\n", "dvc.yaml": one("cmd: run ${d} end")}, OK)
add("unpack-empty-nested-dict", {"params.yaml": "d: {a: {}, b: 1}\n", "dvc.yaml": one("cmd: run ${d} end")}, OK)
add("unpack-only-false", {"params.yaml": "d: {a: false}\n", "dvc.yaml": one("cmd: run ${d} end")}, OK)
add("unpack-quoting", {"params.yaml": y("""
    d:
      q: "it's"
      e: ''
      dq: 'x"y'
      sp: ' lead'
      star: '*.csv'
      dollar: '$HOME'
      'key with space': 1
    """), "dvc.yaml": one("cmd: run ${d}")}, OK)
add("unpack-nested-list-rejected", {"params.yaml": "d: {a: [[1]]}\n", "dvc.yaml": one("cmd: run ${d}")}, REJECT)
add("unpack-list-of-dicts-rejected", {"params.yaml": "d: {a: [{x: 1}]}\n", "dvc.yaml": one("cmd: run ${d}")}, REJECT)
add("unpack-two-dicts", {"params.yaml": "d: {a: 1}\ne: {b: 2}\n", "dvc.yaml": one("cmd: run ${d} -- ${e}")}, OK)
add("unpack-sub-dict", {"params.yaml": "train: {opt: {lr: 0.1, m: 0.9}}\n", "dvc.yaml": one(
    "cmd: run ${train.opt}")}, OK)
add("unpack-in-cmd-list-item", {"params.yaml": "d: {a: 1, b: true}\n", "dvc.yaml": one(
    "cmd: [run, 'x ${d}']")}, OK)
# An exact `${d}` in `cmd` keeps the mapping itself.
add("unpack-exact-dict-cmd", {"params.yaml": "d: {a: 1, b: {c: true}}\n", "dvc.yaml": one("cmd: ${d}")}, OK)
add("unpack-exact-dict-cmd-list-item", {"params.yaml": "d: {a: 1}\n", "dvc.yaml": one("cmd: [run, '${d}']")}, OK)
add("unpack-in-block-cmd", {"params.yaml": "d: {a: 1}\n", "dvc.yaml": one("cmd: |\n  run ${d}\n  done")}, OK)

# =========================================================================== vars

add("vars-params-yaml-autoloaded", {"params.yaml": "lr: 0.1\n", "dvc.yaml": one("cmd: echo ${lr}")}, OK)
add("vars-params-yaml-missing-is-fine", {"dvc.yaml": one("cmd: echo")}, OK)
add("vars-params-yaml-not-a-mapping", {"params.yaml": "- 1\n", "dvc.yaml": one("cmd: echo")}, REJECT)
add("vars-params-yaml-empty", {"params.yaml": "", "dvc.yaml": one("cmd: echo")}, OK)
add("vars-params-yaml-invalid-yaml", {"params.yaml": "a: [\n", "dvc.yaml": one("cmd: echo")}, REJECT)
add("vars-params-yaml-invalid-but-no-dvc-yaml", {"params.yaml": "a: [\n"}, OK)
add("vars-params-yaml-is-directory", {"params.yaml/": "", "dvc.yaml": one("cmd: echo")}, REJECT)
# Any YAML date anywhere in params.yaml makes DVC's templating context fail,
# even if nothing uses it.
add("vars-params-yaml-with-date", {"params.yaml": "d: 2024-01-01\n", "dvc.yaml": one("cmd: echo")}, REJECT)
add("vars-params-yaml-with-nested-date", {"params.yaml": "x: {d: 2024-01-01}\n", "dvc.yaml": one("cmd: echo")}, REJECT)
add("vars-params-yaml-quoted-date-ok", {"params.yaml": "d: '2024-01-01'\n", "dvc.yaml": one("cmd: echo ${d}")}, OK)
add("vars-params-yaml-of-subdir", {"params.yaml": "a: root\n", "sub/params.yaml": "a: sub\n", "sub/dvc.yaml": one(
    "cmd: echo ${a}\nparams: [a]")}, OK)
add("vars-params-yaml-not-from-parent", {"params.yaml": "a: root\n", "sub/dvc.yaml": one("cmd: echo ${a}")}, REJECT)
add("vars-file", {"v.yaml": "a: 1\nb: {c: 2}\n", "dvc.yaml": "vars: [v.yaml]\n" + one("cmd: echo ${a} ${b.c}")}, OK)
add("vars-file-keys", {"v.yaml": "a: 1\nb: {c: 2}\nz: 3\n", "dvc.yaml": "vars: ['v.yaml:a,b']\n" + one(
    "cmd: echo ${a} ${b.c}")}, OK)
add("vars-file-keys-unselected-undefined", {"v.yaml": "a: 1\nz: 3\n", "dvc.yaml": "vars: ['v.yaml:a']\n" + one(
    "cmd: echo ${z}")}, REJECT)
add("vars-file-key-missing", {"v.yaml": "a: 1\n", "dvc.yaml": "vars: ['v.yaml:q']\n" + one("cmd: echo")}, REJECT)
add("vars-file-nested-key-not-supported", {"v.yaml": "a: {b: 1}\n", "dvc.yaml": "vars: ['v.yaml:a.b']\n" + one(
    "cmd: echo")}, REJECT)
add("vars-file-keys-empty-after-colon", {"v.yaml": "a: 1\n", "dvc.yaml": "vars: ['v.yaml:']\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-file-keys-empty-items", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml": "vars: ['v.yaml:a,,b,']\n" + one(
    "cmd: echo ${a}${b}")}, OK)
add("vars-file-missing", {"dvc.yaml": "vars: [nope.yaml]\n" + one("cmd: echo")}, REJECT)
add("vars-file-missing-no-stages", {"dvc.yaml": "vars: [nope.yaml]\n"}, REJECT)
add("vars-file-missing-no-stages-with-params", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [nope.yaml]\n"}, REJECT)
add("vars-only-valid", {"v.yaml": "a: 1\n", "dvc.yaml": "vars: [v.yaml, {b: 2}]\n"}, OK)
add("vars-file-is-directory", {"v/": "", "dvc.yaml": "vars: [v]\n" + one("cmd: echo")}, REJECT)
add("vars-file-not-a-mapping", {"v.yaml": "[1, 2]\n", "dvc.yaml": "vars: [v.yaml]\n" + one("cmd: echo")}, REJECT)
add("vars-file-invalid-yaml", {"v.yaml": "a: [\n", "dvc.yaml": "vars: [v.yaml]\n" + one("cmd: echo")}, REJECT)
add("vars-file-formats", {
    "v.json": '{"j": 1, "nested": {"k": [true, null]}}',
    "v.toml": "t = 2\n[s]\nu = 3\n",
    "v.py": "P = 4\nQ = 'q'\nclass C:\n    x = 5\n",
    "v.yml": "w: 6\n",
    "dvc.yaml": "vars: [v.json, v.toml, v.py, v.yml]\n" + one(
        "cmd: echo ${j} ${t} ${s.u} ${P} ${Q} ${C.x} ${w} ${nested.k[0]}"),
}, OK)
add("vars-file-unknown-extension-read-as-yaml", {"v.cfg": "a: 1\n", "dvc.yaml": "vars: [v.cfg]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-file-json-invalid", {"v.json": "{nope", "dvc.yaml": "vars: [v.json]\n" + one("cmd: echo")}, REJECT)
add("vars-file-toml-invalid", {"v.toml": "= x\n", "dvc.yaml": "vars: [v.toml]\n" + one("cmd: echo")}, REJECT)
add("vars-file-in-subdir-relative-to-dvc-yaml", {"sub/v.yaml": "a: 1\n", "sub/dvc.yaml": "vars: [v.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-file-parent-of-subdir", {"v.yaml": "a: 1\n", "sub/dvc.yaml": "vars: [../v.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-inline", {"dvc.yaml": "vars: [{a: 1}, {b: {c: [x, y]}}]\n" + one("cmd: echo ${a} ${b.c[1]}")}, OK)
add("vars-inline-empty-mapping", {"dvc.yaml": "vars: [{}]\n" + one("cmd: echo")}, OK)
add("vars-empty-list", {"dvc.yaml": "vars: []\n" + one("cmd: echo")}, OK)
add("vars-conflict-inline", {"dvc.yaml": "vars: [{a: 1}, {a: 2}]\n" + one("cmd: echo ${a}")}, REJECT)
add("vars-conflict-same-value", {"dvc.yaml": "vars: [{a: 1}, {a: 1}]\n" + one("cmd: echo ${a}")}, REJECT)
add("vars-conflict-with-params-yaml", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [{a: 2}]\n" + one(
    "cmd: echo ${a}")}, REJECT)
add("vars-conflict-two-files", {"v.yaml": "a: 1\n", "w.yaml": "a: 1\n", "dvc.yaml": "vars: [v.yaml, w.yaml]\n" + one(
    "cmd: echo ${a}")}, REJECT)
add("vars-merge-nested-mappings", {"params.yaml": "a: {x: 1}\n", "dvc.yaml": "vars: [{a: {y: 2}}]\n" + one(
    "cmd: echo ${a.x} ${a.y}")}, OK)
add("vars-merge-nested-conflict", {"params.yaml": "a: {x: 1}\n", "dvc.yaml": "vars: [{a: {x: 2}}]\n" + one(
    "cmd: echo ${a.x}")}, REJECT)
add("vars-merge-mapping-over-scalar", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [{a: {x: 2}}]\n" + one(
    "cmd: echo")}, REJECT)
add("vars-merge-lists-conflict", {"params.yaml": "a: [1]\n", "dvc.yaml": "vars: [{a: [2]}]\n" + one(
    "cmd: echo")}, REJECT)
add("vars-params-yaml-listed-but-missing", {"dvc.yaml": "vars: [params.yaml]\n" + one("cmd: echo")}, REJECT)
add("vars-params-yaml-listed-again", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [params.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-params-yaml-listed-again-dotslash", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: [./params.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-params-yaml-partially-after-autoload", {"params.yaml": "a: 1\n", "dvc.yaml": "vars: ['params.yaml:a']\n" + one(
    "cmd: echo ${a}")}, REJECT)
add("vars-same-file-twice", {"v.yaml": "a: 1\n", "dvc.yaml": "vars: [v.yaml, v.yaml]\n" + one("cmd: echo ${a}")}, OK)
add("vars-same-file-two-spellings", {"v.yaml": "a: 1\n", "dvc.yaml": "vars: [v.yaml, ./v.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-same-file-disjoint-partials", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml": "vars: ['v.yaml:a', 'v.yaml:b']\n" + one(
    "cmd: echo ${a}${b}")}, OK)
add("vars-same-file-overlapping-partials", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml":
    "vars: ['v.yaml:a', 'v.yaml:a,b']\n" + one("cmd: echo ${a}${b}")}, REJECT)
add("vars-same-file-whole-then-partial", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml": "vars: [v.yaml, 'v.yaml:a']\n" + one(
    "cmd: echo ${a}")}, REJECT)
add("vars-same-file-partial-then-whole", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml": "vars: ['v.yaml:a', v.yaml]\n" + one(
    "cmd: echo ${a}")}, REJECT)
add("vars-interpolation-inline-rejected", {"dvc.yaml": "vars: [{a: '${b}'}]\n" + one("cmd: echo")}, REJECT)
add("vars-interpolation-filename-rejected", {"dvc.yaml": "vars: ['${x}.yaml']\n" + one("cmd: echo")}, REJECT)
add("vars-interpolation-in-key-rejected", {"dvc.yaml": "vars: [{'${a}': 1}]\n" + one("cmd: echo")}, REJECT)
add("vars-escaped-interpolation-is-not-interpolation", {"dvc.yaml": "vars: [{a: '\\${b}'}]\n" + one(
    "cmd: echo ${a}")}, OK)
# Values read from a vars file are taken literally: a `${...}` inside is not
# resolved again.
add("vars-file-value-with-template-text", {"v.yaml": "a: '${b}'\nb: 1\n", "dvc.yaml": "vars: [v.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("vars-stage-level-inline", {"dvc.yaml": one("vars: [{a: 1}]\ncmd: echo ${a}")}, OK)
add("vars-stage-level-not-visible-elsewhere", {"dvc.yaml": y("""
    stages:
      a:
        vars: [{v: 1}]
        cmd: echo ${v}
      b:
        cmd: echo ${v}
    """)}, REJECT)
add("vars-stage-level-same-name-two-stages", {"dvc.yaml": y("""
    stages:
      a:
        vars: [{v: 1}]
        cmd: echo ${v}
      b:
        vars: [{v: 2}]
        cmd: echo ${v}
    """)}, OK)
add("vars-stage-level-redefines-global", {"dvc.yaml": "vars: [{a: 1}]\n" + one("vars: [{a: 2}]\ncmd: echo ${a}")},
    REJECT)
add("vars-stage-level-redefines-params-yaml", {"params.yaml": "a: 1\n", "dvc.yaml": one(
    "vars: [{a: 2}]\ncmd: echo ${a}")}, REJECT)
add("vars-stage-level-extends-nested", {"params.yaml": "a: {x: 1}\n", "dvc.yaml": one(
    "vars: [{a: {y: 2}}]\ncmd: echo ${a.x}${a.y}")}, OK)
add("vars-stage-level-file", {"v.yaml": "a: 1\n", "dvc.yaml": one("vars: [v.yaml]\ncmd: echo ${a}")}, OK)
# Stage-level vars files are found relative to the stage's wdir.
add("vars-stage-level-file-relative-to-wdir", {"sub/v.yaml": "a: 1\n", "dvc.yaml": one(
    "wdir: sub\nvars: [v.yaml]\ncmd: echo ${a}")}, OK)
add("vars-stage-level-file-not-in-wdir", {"v.yaml": "a: 1\n", "sub/": "", "dvc.yaml": one(
    "wdir: sub\nvars: [v.yaml]\ncmd: echo ${a}")}, REJECT)
add("vars-stage-level-params-yaml-of-wdir", {"params.yaml": "top: 1\n", "sub/params.yaml": "a: 2\n", "dvc.yaml": one(
    "wdir: sub\nvars: [params.yaml]\ncmd: echo ${top} ${a}")}, OK)
add("vars-stage-level-global-file-again-via-relpath", {"params.yaml": "a: 1\n", "dvc.yaml": one(
    "wdir: sub\nvars: [../params.yaml]\ncmd: echo ${a}")}, OK)
add("vars-stage-level-missing-file", {"dvc.yaml": one("vars: [nope.yaml]\ncmd: echo")}, REJECT)
add("vars-stage-level-interpolation-rejected", {"params.yaml": "f: v.yaml\n", "v.yaml": "a: 1\n", "dvc.yaml": one(
    "vars: ['${f}']\ncmd: echo")}, REJECT)
add("vars-stage-level-partial", {"v.yaml": "a: 1\nb: 2\n", "dvc.yaml": one("vars: ['v.yaml:b']\ncmd: echo ${b}")}, OK)
add("vars-stage-level-wdir-interpolated", {"params.yaml": "d: sub\n", "sub/params.yaml": "a: 2\n", "dvc.yaml": one(
    "wdir: ${d}\nvars: [params.yaml]\ncmd: echo ${a}")}, OK)
add("vars-item-key-reserved-in-foreach", {"dvc.yaml": one("foreach: [1]\ndo:\n  vars: [{item: 2}]\n  cmd: echo ${item}")},
    REJECT)
add("vars-global-item-overwritten-by-foreach", {"params.yaml": "item: 5\nkey: 6\n", "dvc.yaml": y("""
    stages:
      a:
        foreach: {x: 1}
        do:
          cmd: echo ${item} ${key}
      b:
        cmd: echo ${item} ${key}
    """)}, OK)
add("vars-python-file-non-constant-ignored", {"v.py": "import os\nA = 1\ndef f():\n    return 2\nB = [1, 2]\n",
    "dvc.yaml": "vars: [v.py]\n" + one("cmd: echo ${A} ${B[1]}")}, OK)

# =========================================================================== foreach

add("foreach-strings", {"dvc.yaml": one("foreach: [raw, clean]\ndo:\n  cmd: echo ${item}\n  outs: ['${item}.csv']")}, OK)
add("foreach-ints", {"dvc.yaml": one("foreach: [1, 2, 10]\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-floats", {"dvc.yaml": one("foreach: [0.1, 1.0, 1e3, 1.0e-7, -0.0, 2.50]\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-bools", {"dvc.yaml": one("foreach: [true, false]\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-null-item", {"dvc.yaml": one("foreach: [null, x]\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-mixed-scalars", {"dvc.yaml": one(
    "foreach: [x, 1, 1.5, true, null, '01', 0x1f, 0o17, 1_000, +5, 12345678901234567890]\ndo:\n  cmd: ['${item}']")}, OK)
add("foreach-exact-item-types", {"dvc.yaml": one("foreach: [1, 2.5, true, x]\ndo:\n  cmd: ['${item}', 'i${item}']")}, OK)
# Several items with the same string form collapse into one stage; the last
# value wins.
add("foreach-duplicate-keys-last-wins", {"dvc.yaml": one("foreach: [1, '1', true, 'true', x, x]\ndo:\n  cmd: ['${item}']")}, OK)
add("foreach-unicode-and-odd-strings", {"dvc.yaml": one(
    "foreach: ['a b', 'p/q', 'r:s', 'x.y', é, '日本', '-']\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-item-with-at-sign", {"dvc.yaml": one("foreach: ['x@y']\ndo:\n  cmd: x")}, REJECT)
add("foreach-empty-string-item", {"dvc.yaml": one("foreach: ['']\ndo:\n  cmd: x")}, REJECT)
add("foreach-empty-list", {"dvc.yaml": one("foreach: []\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-empty-mapping", {"dvc.yaml": one("foreach: {}\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-list-of-dicts", {"dvc.yaml": one(
    "foreach:\n  - {name: a, n: 1}\n  - {name: b, n: 2}\ndo:\n  cmd: echo ${item.name} ${item.n}\n  outs: ['${item.name}']")}, OK)
add("foreach-list-of-lists", {"dvc.yaml": one("foreach: [[a, 1], [b, 2]]\ndo:\n  cmd: echo ${item[0]} ${item.1}")}, OK)
add("foreach-composite-list-has-no-key", {"dvc.yaml": one("foreach: [x, [1], {k: v}]\ndo:\n  cmd: echo ${key}")}, REJECT)
add("foreach-list-mixed-composite", {"dvc.yaml": one("foreach: [x, [1], {k: v}]\ndo:\n  cmd: echo hi")}, OK)
add("foreach-nested-item-access", {"dvc.yaml": one(
    "foreach: [{p: {q: [1, {r: s}]}}]\ndo:\n  cmd: echo ${item.p.q[1].r} ${item.p.q.0}")}, OK)
add("foreach-item-dict-unpacked-in-cmd", {"dvc.yaml": one(
    "foreach: [{a: 1, b: [x, y], c: true}]\ndo:\n  cmd: run ${item}")}, OK)
add("foreach-item-list-in-cmd-rejected", {"dvc.yaml": one("foreach: [[1, 2]]\ndo:\n  cmd: run ${item}")}, REJECT)
add("foreach-item-exact-list-in-cmd-list-rejected", {"dvc.yaml": one("foreach: [[1, 2]]\ndo:\n  cmd: ['${item}']")}, REJECT)
add("foreach-item-exact-dict-cmd", {"dvc.yaml": one("foreach: [{a: 1}]\ndo:\n  cmd: ${item}")}, OK)
add("foreach-mapping", {"dvc.yaml": one(
    "foreach:\n  us: {lr: 0.1}\n  eu: {lr: 0.2}\ndo:\n  cmd: echo ${key} ${item.lr}\n  outs: ['model-${key}.pkl']")}, OK)
add("foreach-mapping-scalar-values", {"dvc.yaml": one("foreach: {a: 1, b: x}\ndo:\n  cmd: echo ${key}=${item}")}, OK)
add("foreach-mapping-non-string-keys", {"dvc.yaml": one(
    "foreach: {1: x, 2.5: y, false: z, null: w}\ndo:\n  cmd: echo ${key} ${item}")}, OK)
add("foreach-mapping-keys-collide", {"dvc.yaml": one("foreach: {1: a, '1': b}\ndo:\n  cmd: ['${item}', '${key}']")}, OK)
add("foreach-list-has-no-key", {"dvc.yaml": one("foreach: [x]\ndo:\n  cmd: echo ${key}")}, REJECT)
add("foreach-reference-mapping", {"params.yaml": "m: {x: 1, y: 2}\n", "dvc.yaml": one(
    "foreach: ${m}\ndo:\n  cmd: echo ${key} ${item}")}, OK)
add("foreach-reference-list", {"params.yaml": "l: [a, b]\n", "dvc.yaml": one("foreach: ${l}\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-reference-nested", {"dvc.yaml": "vars: [{m: {lst: [{t: 10}, {t: 15}]}}]\n" + one(
    "foreach: ${m.lst}\ndo:\n  cmd: echo ${item.t}")}, OK)
add("foreach-reference-index", {"params.yaml": "l: [[a, b], [c]]\n", "dvc.yaml": one(
    "foreach: ${l[0]}\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-reference-scalar", {"params.yaml": "s: abc\n", "dvc.yaml": one("foreach: ${s}\ndo:\n  cmd: echo ${item}")},
    REJECT)
add("foreach-reference-embedded", {"params.yaml": "m: {x: 1}\n", "dvc.yaml": one("foreach: 'z${m}'\ndo:\n  cmd: echo")},
    REJECT)
add("foreach-reference-undefined", {"dvc.yaml": one("foreach: ${nope}\ndo:\n  cmd: echo")}, REJECT)
add("foreach-reference-syntax-error", {"dvc.yaml": one("foreach: ${a.[b}\ndo:\n  cmd: echo")}, REJECT)
add("foreach-plain-string", {"dvc.yaml": one("foreach: abc\ndo:\n  cmd: echo ${item}")}, REJECT)
add("foreach-data-partially-interpolated", {"dvc.yaml": "vars: [{bar: B}]\n" + one(
    "foreach: {m1: foo, m2: '${bar}'}\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-data-list-interpolated-items", {"dvc.yaml": "vars: [{bar: B, n: 3}]\n" + one(
    "foreach: ['${bar}', '${n}', 'x${n}']\ndo:\n  cmd: ['${item}']")}, OK)
add("foreach-mixed-params-and-vars-file", {
    "params.yaml": "models: {m1: {t: 10}}\n", "v.yaml": "models: {m1: {e: 5}, m2: {t: 1, e: 2}}\n",
    "dvc.yaml": "vars: [v.yaml]\n" + one("foreach: ${models}\ndo:\n  cmd: echo ${item.t} ${item.e}"),
}, OK)
add("foreach-item-missing-in-one-iteration", {"dvc.yaml": one(
    "foreach: [{t: 1}, {}]\ndo:\n  cmd: echo ${item.t}")}, REJECT)
add("foreach-wdir-from-item", {"dvc.yaml": one("foreach: [a, b]\ndo:\n  wdir: ${item}\n  cmd: echo\n  outs: [o]")}, OK)
add("foreach-wdir-and-local-params", {
    "model-0/params.yaml": "epochs: 1\n", "model-1/params.yaml": "epochs: 2\n",
    "dvc.yaml": one("foreach: [0, 1]\ndo:\n  wdir: model-${item}\n  vars: [params.yaml]\n  cmd: echo ${item} ${epochs}\n  params: [epochs]"),
}, OK)
add("foreach-local-vars", {"dvc.yaml": one("foreach: [a]\ndo:\n  vars: [{v: 3}]\n  cmd: echo ${item} ${v}")}, OK)
add("foreach-vars-beside-do-rejected", {"dvc.yaml": one("foreach: [a]\nvars: [{v: 3}]\ndo:\n  cmd: echo")}, REJECT)
add("foreach-local-vars-use-item-rejected", {"dvc.yaml": one("foreach: [1]\ndo:\n  vars: [{v: '${item}'}]\n  cmd: echo")},
    REJECT)
add("foreach-full-stage-template", {"dvc.yaml": one(y("""
    foreach: [a, b]
    do:
      cmd: python run.py ${item}
      wdir: .
      deps: ['src/${item}.py']
      outs:
        - out/${item}:
            cache: false
      metrics: ['m/${item}.json']
      plots: ['p/${item}.csv']
      params:
        - ${item}.lr
        - conf/${item}.yaml: [k]
      frozen: true
      always_changed: false
      desc: stage ${item}
      meta: {i: '${item}'}
    """))}, OK)
add("foreach-outputs-collide", {"dvc.yaml": one("foreach: [a, b]\ndo:\n  cmd: echo\n  outs: [same]")}, REJECT)
add("foreach-chain-edges", {"dvc.yaml": y("""
    stages:
      gen:
        foreach: [a, b]
        do:
          cmd: gen ${item}
          outs: ['data/${item}']
      use:
        foreach: [a, b]
        do:
          cmd: use ${item}
          deps: ['data/${item}/x.csv']
    """)}, OK)
add("foreach-name-collides-with-plain-stage-name", {"dvc.yaml": y("""
    stages:
      a:
        foreach: [x]
        do:
          cmd: echo
      a@y:
        cmd: echo
    """)}, REJECT)
# `matrix:` inside `do:` is allowed by the schema and silently ignored.
add("foreach-do-with-matrix-key-ignored", {"dvc.yaml": one("foreach: [x]\ndo:\n  matrix: {a: [1]}\n  cmd: echo")}, OK)
add("foreach-do-with-foreach-key", {"dvc.yaml": one("foreach: [x]\ndo:\n  foreach: [y]\n  cmd: echo")}, REJECT)
add("foreach-item-date-rejected", {"dvc.yaml": one("foreach: [2001-01-01]\ndo:\n  cmd: echo")}, REJECT)
add("foreach-int-and-float-same-string", {"dvc.yaml": one("foreach: [1, 1.0]\ndo:\n  cmd: ['${item}']")}, OK)
add("foreach-inf-and-nan-items", {"dvc.yaml": one("foreach: [.inf, -.inf, .nan]\ndo:\n  cmd: echo ${item}")}, OK)
add("foreach-large-int-key", {"dvc.yaml": one("foreach: [100000000000000000000000]\ndo:\n  cmd: echo ${item}")}, OK)

# =========================================================================== matrix

add("matrix-scalars", {"dvc.yaml": one("matrix:\n  os: [linux, win]\n  py: ['3.10', 3.9]\ncmd: echo ${item.os} ${item.py} ${key}")},
    OK)
add("matrix-one-dimension", {"dvc.yaml": one("matrix:\n  n: [1, 2, 3]\ncmd: echo ${item.n}")}, OK)
add("matrix-three-dimensions-order", {"dvc.yaml": one(
    "matrix:\n  z: [1, 2]\n  a: [x, y]\n  m: [true]\ncmd: echo ${key}")}, OK)
add("matrix-bools-floats-null", {"dvc.yaml": one("matrix:\n  a: [1.5, false, 1e3]\n  b: [null]\ncmd: echo ${item.a}")}, OK)
add("matrix-dicts-and-lists", {"dvc.yaml": one(
    "matrix:\n  os: [win, linux]\n  d: [{arg1: 1}, {arg2: 2}]\n  l: [[o1, o11], [o2, o22]]\n"
    "cmd: echo ${item.os} ${item.d} -- ${item.l.0} ${item.l[1]}")}, OK)
add("matrix-dict-values-deep", {"dvc.yaml": one("matrix:\n  a: [{x: {y: 1}}, {x: {y: 2}}]\ncmd: echo ${item.a.x.y}")},
    OK)
add("matrix-reference-dimensions", {"params.yaml": "os: [a, b]\npy: [1, 2]\n", "dvc.yaml": one(
    "matrix:\n  os: ${os}\n  py: ${py}\ncmd: echo ${item.os}${item.py}")}, OK)
add("matrix-reference-dimension-of-dicts", {"params.yaml": "d: [{k: 1}, {k: 2}]\n", "dvc.yaml": one(
    "matrix:\n  d: ${d}\n  s: [x]\ncmd: echo ${item.d.k} ${key}")}, OK)
add("matrix-reference-undefined", {"dvc.yaml": one("matrix:\n  a: ${nope}\ncmd: echo")}, REJECT)
# A string dimension is iterated character by character.
add("matrix-string-dimension", {"dvc.yaml": one("matrix:\n  a: xyz\ncmd: echo ${item.a}")}, OK)
# ... but a dimension that references a string crashes DVC.
add("matrix-reference-to-string", {"params.yaml": "s: ab\n", "dvc.yaml": one("matrix:\n  a: ${s}\ncmd: echo ${item.a}")},
    REJECT)
add("matrix-empty-dimension", {"dvc.yaml": one("matrix:\n  a: []\n  b: [1]\ncmd: echo")}, OK)
add("matrix-empty", {"dvc.yaml": one("matrix: {}\ncmd: echo")}, REJECT)
add("matrix-duplicate-keys-last-wins", {"dvc.yaml": one("matrix:\n  a: [1, '1']\ncmd: ['${item.a}']")}, OK)
add("matrix-item-whole-in-cmd", {"dvc.yaml": one("matrix:\n  a: [1]\n  b: [x]\ncmd: run ${item}")}, OK)
add("matrix-item-exact-in-cmd-list", {"dvc.yaml": one("matrix:\n  a: [1]\n  b: [{k: v}]\ncmd: ['${item}', '${item.b}', '${key}']")},
    OK)
add("matrix-item-list-embedded-rejected", {"dvc.yaml": one("matrix:\n  l: [[1, 2]]\ncmd: echo ${item.l}")}, REJECT)
add("matrix-dimension-named-key-and-item", {"dvc.yaml": one(
    "matrix:\n  key: [1]\n  item: [2]\ncmd: echo ${item.key} ${item.item} ${key}")}, OK)
add("matrix-with-stage-vars", {"dvc.yaml": one("matrix:\n  a: [1]\nvars: [{v: 3}]\ncmd: echo ${v} ${item.a}")}, OK)
add("matrix-full-stage", {"dvc.yaml": one(y("""
    matrix:
      m: [a, b]
      s: [1, 2]
    cmd: train ${item.m} ${item.s}
    wdir: w
    deps: ['d/${item.m}']
    outs: ['o/${item.m}-${item.s}']
    metrics: ['m/${key}.json']
    params:
      - ${item.m}.lr
    frozen: true
    """))}, OK)
add("matrix-outputs-collide", {"dvc.yaml": one("matrix:\n  a: [1, 2]\ncmd: echo\nouts: [same]")}, REJECT)
add("matrix-value-with-at-sign", {"dvc.yaml": one("matrix:\n  a: ['x@y']\ncmd: echo")}, REJECT)
add("matrix-unicode-values", {"dvc.yaml": one("matrix:\n  a: [é, 日本]\n  b: ['a b']\ncmd: echo ${key}")}, OK)
add("matrix-and-foreach-stages-together", {"dvc.yaml": y("""
    stages:
      f:
        foreach: [a]
        do:
          cmd: f ${item}
          outs: ['f-${item}']
      m:
        matrix:
          x: [a]
        cmd: m ${item.x}
        deps: ['f-${item.x}']
    """)}, OK)

# =========================================================================== several dvc.yaml files

add("multi-files-ids", {
    "dvc.yaml": one("cmd: x\nouts: [o]"),
    "sub/dvc.yaml": one("cmd: y\ndeps: [../o]\nouts: [p]", name="b"),
    "sub/deeper/dvc.yaml": one("cmd: z\ndeps: [../p]", name="c"),
}, OK)
add("multi-files-same-stage-name", {"dvc.yaml": one("cmd: x"), "sub/dvc.yaml": one("cmd: y"), "zz/dvc.yaml": one("cmd: z")}, OK)
add("multi-files-only-in-subdirs", {"a/dvc.yaml": one("cmd: x"), "b/c/dvc.yaml": one("cmd: y")}, OK)
add("multi-files-unicode-dirs", {"é/dvc.yaml": one("cmd: x"), "z/dvc.yaml": one("cmd: y"), "Z/dvc.yaml": one("cmd: y")}, OK)
add("multi-files-duplicate-output", {"dvc.yaml": one("cmd: x\nouts: [sub/o]"), "sub/dvc.yaml": one("cmd: y\nouts: [o]", name="b")},
    REJECT)
add("multi-files-overlapping-outputs", {"dvc.yaml": one("cmd: x\nouts: [sub/x/y]"), "sub/dvc.yaml": one("cmd: y\nouts: [x]")},
    REJECT)
add("multi-files-cycle", {"dvc.yaml": one("cmd: x\ndeps: [sub/b]\nouts: [a]"), "sub/dvc.yaml": one(
    "cmd: y\ndeps: [../a]\nouts: [b]", name="b")}, REJECT)
add("multi-files-one-invalid", {"dvc.yaml": one("cmd: x"), "sub/dvc.yaml": "stages: [\n"}, REJECT)
add("multi-files-one-schema-error", {"dvc.yaml": one("cmd: x"), "sub/dvc.yaml": one("cmd: x\nfoo: 1")}, REJECT)
add("multi-files-vars-are-per-file", {"dvc.yaml": "vars: [{a: 1}]\n" + one("cmd: echo ${a}"), "sub/dvc.yaml": one(
    "cmd: echo ${a}")}, REJECT)
add("multi-files-params-yaml-per-dir", {"params.yaml": "a: 1\n", "sub/params.yaml": "a: 2\n", "dvc.yaml": one("cmd: echo ${a}"),
    "sub/dvc.yaml": one("cmd: echo ${a}")}, OK)
# A dvc.yaml inside a directory that a stage of an enclosing dvc.yaml outputs
# is never read (DVC stops walking into output directories).
add("multi-files-dvc-yaml-inside-output-dir-skipped", {"dvc.yaml": one("cmd: x\nouts: [sub]"), "sub/dvc.yaml": one(
    "cmd: y\nouts: [o]", name="b")}, OK)
add("multi-files-broken-dvc-yaml-inside-output-dir-skipped", {"dvc.yaml": one("cmd: x\nouts: [sub]"),
    "sub/dvc.yaml": "stages: [\n"}, OK)
add("multi-files-dvc-yaml-inside-output-dir-via-wdir", {"dvc.yaml": one("cmd: x\nwdir: sub\nouts: [.]"),
    "sub/dvc.yaml": one("cmd: y", name="b")}, OK)
add("multi-files-dvc-yaml-inside-nested-output-dir", {"dvc.yaml": one("cmd: x\nouts: [a/b]"), "a/b/dvc.yaml": one("cmd: y")}, OK)
# ... but a stage file inside an output declared by a dvc.yaml that is not an
# ancestor is a StagePathAsOutputError.
add("multi-files-dvc-yaml-inside-sibling-output", {"a/dvc.yaml": one("cmd: x\nouts: [../b]"), "b/dvc.yaml": one("cmd: y")},
    REJECT)
add("multi-files-output-below-a-dvc-yaml-path", {"dvc.yaml": one("cmd: x\nouts: [sub/dvc.yaml/x]"),
    "sub/dvc.yaml": one("cmd: y")}, OK)
add("multi-files-nested-dvc-yml-ignored", {"dvc.yml": one("cmd: x"), "DVC.yaml": one("cmd: y"), "sub/dvc.yaml.bak": one("cmd: z")},
    OK)
add("multi-files-dvc-yaml-directory", {"dvc.yaml/": "", "x/dvc.yaml": one("cmd: x")}, OK)
add("multi-files-inside-dot-dvc-and-git", {".dvc/dvc.yaml": one("cmd: x"), ".git/x/dvc.yaml": one("cmd: y"),
    "ok/dvc.yaml": one("cmd: z")}, OK)
add("multi-files-subrepo-skipped", {"dvc.yaml": one("cmd: x"), "sub/.dvc/config": "", "sub/dvc.yaml": one("cmd: y")}, OK)
add("multi-files-nested-git-not-subrepo", {"sub/.git/HEAD": "ref: refs/heads/main\n", "sub/dvc.yaml": one("cmd: y")}, OK)

# =========================================================================== .dvcignore and .gitignore

add("dvcignore-directory", {".dvcignore": "sub/\n", "sub/dvc.yaml": one("cmd: y"), "dvc.yaml": one("cmd: x")}, OK)
add("dvcignore-broken-file-ignored", {".dvcignore": "broken/\n", "broken/dvc.yaml": "stages: [\n", "dvc.yaml": one("cmd: x")},
    OK)
add("dvcignore-file-pattern", {".dvcignore": "dvc.yaml\n!/dvc.yaml\n", "sub/dvc.yaml": one("cmd: y"), "dvc.yaml": one("cmd: x")},
    OK)
add("dvcignore-glob", {".dvcignore": "exp*/\n", "exp1/dvc.yaml": one("cmd: y"), "keep/dvc.yaml": one("cmd: x")}, OK)
add("dvcignore-anchored", {".dvcignore": "/a/\n", "a/dvc.yaml": one("cmd: y"), "b/a/dvc.yaml": one("cmd: x")}, OK)
add("dvcignore-double-star", {".dvcignore": "**/tmp/\n", "x/y/tmp/dvc.yaml": one("cmd: y"), "x/dvc.yaml": one("cmd: x")}, OK)
add("dvcignore-in-subdir", {"sub/.dvcignore": "x/\n", "sub/x/dvc.yaml": one("cmd: y"), "sub/dvc.yaml": one("cmd: z")}, OK)
add("dvcignore-comment-and-blank", {".dvcignore": "# c\n\nsub\n", "sub/dvc.yaml": one("cmd: y"), "dvc.yaml": one("cmd: x")},
    OK)
add("dvcignore-negation-reincludes", {".dvcignore": "d*/\n!dkeep/\n", "dgone/dvc.yaml": one("cmd: y"),
    "dkeep/dvc.yaml": one("cmd: x")}, OK)
add("dvcignore-params-file-still-read", {".dvcignore": "params.yaml\n", "params.yaml": "a: 1\n", "dvc.yaml": one(
    "cmd: echo ${a}")}, OK)
add("dvcignore-vars-file-still-read", {".dvcignore": "v.yaml\n", "v.yaml": "a: 1\n", "dvc.yaml": "vars: [v.yaml]\n" + one(
    "cmd: echo ${a}")}, OK)
add("dvcignore-root-dvc-yaml", {".dvcignore": "/dvc.yaml\n", "dvc.yaml": one("cmd: x"), "sub/dvc.yaml": one("cmd: y")}, OK)
# Git-ignored dvc.yaml files and directories are skipped as well.
add("gitignore-directory", {".gitignore": "sub/\n", "sub/dvc.yaml": one("cmd: y"), "dvc.yaml": one("cmd: x")}, OK)
add("gitignore-root-dvc-yaml", {".gitignore": "/dvc.yaml\n", "dvc.yaml": one("cmd: x")}, OK)
add("gitignore-broken-dvc-yaml-skipped", {".gitignore": "broken/\n", "broken/dvc.yaml": "stages: [\n"}, OK)

# =========================================================================== graph

add("graph-chain", {"dvc.yaml": y("""
    stages:
      prepare:
        cmd: prep
        deps: [data/raw.csv]
        outs: [data/prepared]
      train:
        cmd: train
        deps: [data/prepared, src/train.py]
        params: [train.lr]
        outs: [model.pkl]
      evaluate:
        cmd: eval
        deps: [model.pkl, data/prepared/test.csv]
        metrics: [{scores.json: {cache: false}}]
        plots: [prc.json]
      report:
        cmd: report
        deps: [scores.json, prc.json]
    """)}, OK)
add("graph-dep-inside-output-dir", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [data]}
      b: {cmd: y, deps: [data/x.csv]}
    """)}, OK)
add("graph-dep-contains-output", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [data/x.csv]}
      b: {cmd: y, deps: [data]}
    """)}, OK)
add("graph-dep-root-contains-everything", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [data]}
      c: {cmd: x, metrics: [m.json]}
      b: {cmd: y, deps: [.]}
    """)}, OK)
add("graph-prefix-is-not-containment", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [data]}
      b: {cmd: y, deps: [data2, dat, data.csv]}
    """)}, OK)
add("graph-metrics-and-plots-are-outputs", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, metrics: [m.json], plots: [p.csv]}
      b: {cmd: y, deps: [m.json, p.csv]}
    """)}, OK)
add("graph-uncached-output-still-edge", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [{o: {cache: false, persist: true}}]}
      b: {cmd: y, deps: [o]}
    """)}, OK)
add("graph-edge-once", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [o1, o2], metrics: [m]}
      b: {cmd: y, deps: [o1, o2, o1, m], params: [{o1: [k]}]}
    """)}, OK)
add("graph-params-file-edge", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [conf.yaml]}
      b: {cmd: y, params: [{conf.yaml: [lr]}]}
    """)}, OK)
add("graph-bare-param-edge-through-wdir", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [sub/params.yaml]}
      b: {cmd: y, wdir: sub, params: [lr]}
    """)}, OK)
add("graph-across-files-through-wdir", {"dvc.yaml": one("cmd: x\nouts: [data/out]"), "sub/dvc.yaml": one(
    "cmd: y\nwdir: ..\ndeps: [data]", name="b")}, OK)
add("graph-fan-in-fan-out", {"dvc.yaml": y("""
    stages:
      s1: {cmd: x, outs: [a]}
      s2: {cmd: x, outs: [b]}
      s3: {cmd: x, deps: [a, b], outs: [c]}
      s4: {cmd: x, deps: [c]}
      s5: {cmd: x, deps: [c, a]}
    """)}, OK)
add("graph-outside-root-paths", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [../shared/o]}
      b: {cmd: y, deps: [../shared]}
    """)}, OK)
add("graph-absolute-paths", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [/opt/x/o]}
      b: {cmd: y, deps: ['/opt/x//o/', /opt/x]}
    """)}, OK)
add("graph-url-paths", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: ['http://example.com/o']}
      b: {cmd: y, deps: ['http://example.com/o']}
    """)}, OK)
add("graph-dep-equals-own-output", {"dvc.yaml": one("cmd: x\ndeps: [o]\nouts: [o]")}, REJECT)
add("graph-dep-equals-own-output-spelled-differently", {"dvc.yaml": one("cmd: x\ndeps: [./o/]\nouts: [o]")}, REJECT)
add("graph-dep-inside-own-output", {"dvc.yaml": one("cmd: x\ndeps: [o/x]\nouts: [o]")}, REJECT)
add("graph-dep-contains-own-output", {"dvc.yaml": one("cmd: x\ndeps: [.]\nouts: [o]")}, REJECT)
add("graph-dep-equals-own-metric", {"dvc.yaml": one("cmd: x\ndeps: [m.json]\nmetrics: [m.json]")}, REJECT)
add("graph-cycle-2", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, deps: [b], outs: [a]}
      b: {cmd: y, deps: [a], outs: [b]}
    """)}, REJECT)
add("graph-cycle-3", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, deps: [c], outs: [a]}
      b: {cmd: y, deps: [a], outs: [b]}
      c: {cmd: z, deps: [b], outs: [c]}
    """)}, REJECT)
add("graph-cycle-through-directories", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, deps: [d2/x], outs: [d1]}
      b: {cmd: y, deps: [d1/y], outs: [d2]}
    """)}, REJECT)
add("graph-cycle-through-params", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, params: [{b.yaml: [k]}], outs: [a.yaml]}
      b: {cmd: y, params: [{a.yaml: [k]}], outs: [b.yaml]}
    """)}, REJECT)
add("graph-duplicate-output", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [o]}
      b: {cmd: y, outs: [o]}
    """)}, REJECT)
add("graph-duplicate-output-spelled-differently", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [o]}
      b: {cmd: y, outs: [./o/]}
    """)}, REJECT)
add("graph-duplicate-output-out-and-metric", {"dvc.yaml": one("cmd: x\nouts: [o]\nmetrics: [o]")}, REJECT)
add("graph-duplicate-output-metric-and-plot-stages", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, metrics: [o]}
      b: {cmd: y, plots: [o]}
    """)}, REJECT)
add("graph-duplicate-output-through-wdir", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [sub/o]}
      b: {cmd: y, wdir: sub, outs: [o]}
    """)}, REJECT)
add("graph-duplicate-absolute-output", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [/opt/o]}
      b: {cmd: y, outs: [/opt//o/]}
    """)}, REJECT)
add("graph-output-inside-output", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [d]}
      b: {cmd: y, outs: [d/x]}
    """)}, REJECT)
add("graph-output-inside-output-same-stage", {"dvc.yaml": one("cmd: x\nouts: [d, d/x]")}, REJECT)
add("graph-output-inside-output-reverse-order", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [d/x/y]}
      b: {cmd: y, plots: [d]}
    """)}, REJECT)
add("graph-sibling-outputs-fine", {"dvc.yaml": y("""
    stages:
      a: {cmd: x, outs: [d/x]}
      b: {cmd: y, outs: [d/y, dx]}
    """)}, OK)
add("graph-many-stages", {"dvc.yaml": "stages:\n" + "".join(
    f"  s{i:02d}:\n    cmd: step {i}\n    deps: [d{i}]\n    outs: [d{i + 1}]\n" for i in range(30))}, OK)

# =========================================================================== top-level sections

add("top-plots-list-of-strings", {"dvc.yaml": "plots:\n  - a.csv\n  - dir/\n" + one("cmd: x")}, OK)
add("top-plots-list-of-dicts", {"dvc.yaml": y("""
    plots:
      - a.csv:
          x: a
          y: {b.csv: [c, d], e.csv: f}
          title: t
          template: linear
          x_label: xl
          y_label: yl
      - name:
          template: t
          x: {a.csv: q}
      - c.csv:
      - d.csv: {}
    """) + one("cmd: x")}, OK)
add("top-plots-two-keys-in-entry", {"dvc.yaml": "plots:\n  - a.csv: {x: a}\n    b.csv: {x: b}\n" + one("cmd: x")}, OK)
add("top-plots-mapping-rejected", {"dvc.yaml": "plots:\n  a.csv:\n    x: a\n" + one("cmd: x")}, REJECT)
add("top-plots-string-rejected", {"dvc.yaml": "plots: a.csv\n" + one("cmd: x")}, REJECT)
add("top-plots-unknown-prop", {"dvc.yaml": "plots:\n  - a.csv:\n      foo: a\n" + one("cmd: x")}, REJECT)
add("top-plots-header-prop-rejected", {"dvc.yaml": "plots:\n  - a.csv:\n      header: true\n" + one("cmd: x")}, REJECT)
add("top-plots-cache-flag-rejected", {"dvc.yaml": "plots:\n  - a.csv:\n      cache: false\n" + one("cmd: x")}, REJECT)
add("top-plots-int-item", {"dvc.yaml": "plots: [1]\n" + one("cmd: x")}, REJECT)
add("top-plots-empty-mapping-item", {"dvc.yaml": "plots: [{}]\n" + one("cmd: x")}, REJECT)
add("top-plots-interpolated", {"params.yaml": "n: q\n", "dvc.yaml": "plots:\n  - ${n}.csv\n  - ${n}:\n      x: ${n}\n" + one(
    "cmd: x")}, OK)
add("top-plots-undefined-variable", {"dvc.yaml": "plots:\n  - ${nope}.csv\n" + one("cmd: x")}, REJECT)
add("top-plots-undefined-variable-no-stages", {"dvc.yaml": "plots:\n  - ${nope}.csv\n"}, REJECT)
add("top-plots-syntax-error", {"dvc.yaml": "plots:\n  - ${a..b}.csv\n"}, REJECT)
add("top-plots-exact-list-reference", {"params.yaml": "p: [a, b]\n", "dvc.yaml": "plots:\n  - ${p}\n"}, OK)
add("top-metrics", {"dvc.yaml": "metrics: [m.json, x/]\n" + one("cmd: x")}, OK)
add("top-metrics-dict-rejected", {"dvc.yaml": "metrics: [{m.json: {}}]\n" + one("cmd: x")}, REJECT)
add("top-metrics-string-rejected", {"dvc.yaml": "metrics: m.json\n" + one("cmd: x")}, REJECT)
add("top-metrics-undefined-variable", {"dvc.yaml": "metrics: ['${nope}']\n" + one("cmd: x")}, REJECT)
add("top-metrics-interpolated", {"params.yaml": "m: {a: m.json}\n", "dvc.yaml": "metrics: ['${m.a}', 'x-${m.a}']\n"}, OK)
add("top-params", {"dvc.yaml": "params: [p.yaml, conf/p.json]\n" + one("cmd: x")}, OK)
add("top-params-dict-rejected", {"dvc.yaml": "params: [{p.yaml: [a]}]\n" + one("cmd: x")}, REJECT)
add("top-params-undefined-variable", {"dvc.yaml": "params: ['${nope}']\n" + one("cmd: x")}, REJECT)
add("top-params-null", {"dvc.yaml": "params:\n" + one("cmd: x")}, REJECT)
add("top-artifacts", {"dvc.yaml": y("""
    artifacts:
      model:
        path: m.pkl
        type: model
        desc: d
        labels: [a]
        meta: {k: v}
      other:
        path: o.pkl
    """) + one("cmd: x")}, OK)
add("top-artifacts-missing-path", {"dvc.yaml": "artifacts:\n  model:\n    type: model\n" + one("cmd: x")}, REJECT)
add("top-artifacts-unknown-key", {"dvc.yaml": "artifacts:\n  model:\n    path: m\n    foo: 1\n" + one("cmd: x")}, REJECT)
add("top-artifacts-list-rejected", {"dvc.yaml": "artifacts: [m]\n" + one("cmd: x")}, REJECT)
add("top-artifacts-null-entry", {"dvc.yaml": "artifacts:\n  model:\n" + one("cmd: x")}, REJECT)
add("top-artifacts-odd-name-loads", {"dvc.yaml": "artifacts:\n  'Model X':\n    path: m\n" + one("cmd: x")}, OK)
add("top-artifacts-undefined-variable", {"dvc.yaml": "artifacts:\n  model:\n    path: ${nope}\n" + one("cmd: x")}, REJECT)
add("top-artifacts-interpolated-name", {"params.yaml": "n: mm\n", "dvc.yaml": "artifacts:\n  ${n}:\n    path: x\n"}, OK)
add("top-artifacts-name-not-a-string", {"params.yaml": "n: 5\n", "dvc.yaml": "artifacts:\n  ${n}:\n    path: x\n"}, REJECT)
add("top-datasets", {"dvc.yaml": "datasets:\n  - name: d\n    type: dc\n    url: dc://d\n" + one("cmd: x")}, OK)
add("top-datasets-not-a-list", {"dvc.yaml": "datasets: 5\n" + one("cmd: x")}, REJECT)
add("top-datasets-undefined-variable", {"dvc.yaml": "datasets:\n  - name: ${nope}\n    type: dc\n" + one("cmd: x")}, REJECT)
add("top-sections-only", {"params.yaml": "p: x\n", "dvc.yaml": y("""
    vars: [{q: y}]
    plots: [a.csv]
    metrics: [m.json]
    params: [p.yaml]
    artifacts:
      m: {path: m.pkl}
    """)}, OK)

# =========================================================================== YAML

add("yaml-syntax-error", {"dvc.yaml": "stages:\n  a:\n    cmd: [x\n"}, REJECT)
add("yaml-tab-indentation", {"dvc.yaml": "stages:\n\ta:\n\t\tcmd: x\n"}, REJECT)
add("yaml-duplicate-stage-key", {"dvc.yaml": "stages:\n  a:\n    cmd: x\n  a:\n    cmd: y\n"}, REJECT)
add("yaml-duplicate-field-key", {"dvc.yaml": one("cmd: x\ncmd: y")}, REJECT)
# YAML keys `1` and `true` are equal Python keys: a duplicate-key error.
add("yaml-keys-1-and-true-collide", {"dvc.yaml": one("foreach: {1: x, true: y}\ndo:\n  cmd: echo")}, REJECT)
add("yaml-duplicate-key-in-params-yaml", {"params.yaml": "a: 1\na: 2\n", "dvc.yaml": one("cmd: x")}, REJECT)
add("yaml-multi-document", {"dvc.yaml": one("cmd: x") + "---\n" + one("cmd: y", name="b")}, REJECT)
add("yaml-explicit-document-markers", {"dvc.yaml": "---\n" + one("cmd: x") + "...\n"}, OK)
add("yaml-flow-style-everything", {"dvc.yaml": '{"stages": {"a": {"cmd": "x", "deps": ["d"], "outs": [{"o": {"cache": false}}]}}}'},
    OK)
add("yaml-bom", {"dvc.yaml": "\ufeff" + one("cmd: x")}, OK)
add("yaml-crlf", {"dvc.yaml": (one("cmd: |\n  a\n  b\ndeps: [d]")).replace("\n", "\r\n")}, OK)
add("yaml-not-utf8", {"dvc.yaml": (one("cmd: caf\xe9")).encode("latin-1")}, REJECT)
add("yaml-anchors-and-aliases", {"dvc.yaml": y("""
    stages:
      a:
        cmd: x
        deps: &d [p, q]
      b:
        cmd: y
        deps: *d
    """)}, OK)
add("yaml-merge-key", {"dvc.yaml": y("""
    stages:
      a: &base
        cmd: x
        deps: [d]
      b:
        <<: *base
        cmd: y
    """)}, OK)
add("yaml-tags", {"dvc.yaml": one("cmd: !!str 010\nfrozen: !!bool true\ndeps: [!!str 1]")}, OK)
add("yaml-12-bool-like-strings", {"dvc.yaml": one("cmd: [yes, no, on, off, y, n, Yes, NO]")}, OK)
add("yaml-12-numbers", {"dvc.yaml": one("cmd: [010, 0o10, 0x10, 1_000, 1e3, 1.5e+2, +1, -0, 0.]")}, OK)
add("yaml-12-nulls-and-bools", {"dvc.yaml": one("cmd: [~, null, Null, NULL, true, True, TRUE, false]")}, OK)
add("yaml-12-yes-is-not-bool", {"dvc.yaml": one("cmd: x\nfrozen: yes")}, REJECT)
add("yaml-12-on-is-not-bool", {"dvc.yaml": one("cmd: x\nalways_changed: on")}, REJECT)
add("yaml-12-keys", {"dvc.yaml": "stages:\n" + "".join(f"  {k}:\n    cmd: {k}\n" for k in ["yes", "on", "off", "y", "No", "n"])},
    OK)
add("yaml-true-stage-name", {"dvc.yaml": "stages:\n  true:\n    cmd: x\n"}, REJECT)
add("yaml-null-stage-name", {"dvc.yaml": "stages:\n  ~:\n    cmd: x\n"}, REJECT)
add("yaml-int-stage-name", {"dvc.yaml": "stages:\n  010:\n    cmd: x\n"}, REJECT)
add("yaml-float-stage-name", {"dvc.yaml": "stages:\n  1.5:\n    cmd: x\n"}, REJECT)
add("yaml-inf-stage-name", {"dvc.yaml": "stages:\n  .inf:\n    cmd: x\n"}, REJECT)
add("yaml-quoted-number-stage-name", {"dvc.yaml": "stages:\n  '010':\n    cmd: x\n"}, OK)
add("yaml-date-cmd", {"dvc.yaml": one("cmd: 2001-01-01")}, REJECT)
add("yaml-date-in-dep", {"dvc.yaml": one("cmd: x\ndeps: [2001-01-01]")}, REJECT)
add("yaml-12-values-in-params", {"params.yaml": "a: yes\nb: 010\nc: 1_000\ne: on\nf: 0o10\ng: 0x1F\nh: 1e3\n", "dvc.yaml": one(
    "cmd: echo ${a} ${b} ${c} ${e} ${f} ${g} ${h}")}, OK)
add("yaml-12-exact-values-in-params", {"params.yaml": "a: yes\nb: 010\nc: 1_000\n", "dvc.yaml": one(
    "cmd: ['${a}', '${b}', '${c}']")}, OK)
# A `%YAML 1.1` directive switches ruamel to YAML 1.1 rules for that file.
add("yaml-11-directive", {"dvc.yaml": "%YAML 1.1\n---\n" + one("cmd: [yes, 010, on, 0o10]\nfrozen: yes")}, OK)
add("yaml-11-directive-in-params", {"params.yaml": "%YAML 1.1\n---\na: yes\nb: 010\n", "dvc.yaml": one(
    "cmd: ['${a}', '${b}']")}, OK)
add("yaml-12-directive", {"dvc.yaml": "%YAML 1.2\n---\n" + one("cmd: [yes, 010]")}, OK)
add("yaml-long-lines-and-quotes", {"dvc.yaml": one('cmd: "' + "x" * 500 + ' \\"q\\""')}, OK)
add("yaml-json-params-file", {"p.json": '{"a": 1, "b": [1, 2]}', "dvc.yaml": "vars: [p.json]\n" + one("cmd: echo ${a} ${b[1]}")},
    OK)
add("yaml-json-duplicate-keys", {"p.json": '{"a": 1, "a": 2}', "dvc.yaml": "vars: [p.json]\n" + one("cmd: echo ${a}")}, OK)
add("yaml-json-nan", {"p.json": '{"a": NaN}', "dvc.yaml": "vars: [p.json]\n" + one("cmd: echo ${a}")}, OK)

# =========================================================================== stage names

add("name-odd-characters", {"dvc.yaml": one("cmd: x", name="'a.b-c_d:e/f g!'")}, OK)
add("name-unicode-sorted", {"dvc.yaml": "stages:\n" + "".join(
    f"  {n}:\n    cmd: x\n" for n in ["é", "z", "Z", "'日本'", "'a😀'", "'aﬀ'", "_u", "'-d'", "'~t'"])}, OK)
add("name-with-at-sign", {"dvc.yaml": one("cmd: x", name="'a@b'")}, REJECT)
add("name-ending-with-at-sign", {"dvc.yaml": one("cmd: x", name="'a@'")}, REJECT)
add("name-starting-with-at-sign", {"dvc.yaml": one("cmd: x", name="'@a'")}, REJECT)
add("name-empty", {"dvc.yaml": one("cmd: x", name="''")}, REJECT)
add("name-spaces", {"dvc.yaml": one("cmd: x", name="' a '")}, OK)
add("name-dvc-yaml-like", {"sub/dvc.yaml": one("cmd: x", name="'dvc.yaml:b'")}, OK)
add("name-long", {"dvc.yaml": one("cmd: x", name="n" * 200)}, OK)
add("name-numeric-string-sorting", {"dvc.yaml": "stages:\n" + "".join(f"  '{n}':\n    cmd: x\n" for n in ["10", "9", "1", "01"])},
    OK)

# =========================================================================== dvc.lock beside dvc.yaml

# DVC reads dvc.lock while loading the stages of its dvc.yaml and refuses a
# corrupt one; mlrepro never reads dvc.lock, so these document the gap.
add("lock-valid-ignored", {"dvc.yaml": one("cmd: x\ndeps: [d]"), "dvc.lock": y("""
    schema: '2.0'
    stages:
      a:
        cmd: old
        deps:
          - path: d
            md5: d41d8cd98f00b204e9800998ecf8427e
            size: 0
    """)}, OK)
# Deliberate differences (docs/format.md, "Pipeline files"): DVC refuses a
# project whose dvc.lock is corrupt; mlrepro never reads dvc.lock (it keeps
# its own mlrepro.lock), so it loads the pipeline all the same.
DIVERGENCES: list[Case] = [
    ("lock-invalid-yaml", {"dvc.yaml": one("cmd: x"), "dvc.lock": "garbage: [\n"}, REJECT),
    ("lock-wrong-schema", {"dvc.yaml": one("cmd: x"), "dvc.lock": "schema: '3.0'\n"}, REJECT),
]
add("lock-without-dvc-yaml", {"dvc.lock": "garbage: [\n"}, OK)


def case_ids() -> list[str]:
    return [case_id for case_id, _, _ in CASES]


_ids = case_ids()
assert len(_ids) == len(set(_ids)), sorted({i for i in _ids if _ids.count(i) > 1})

"""Runs the Python examples of docs/python.md, so the docs stay true.

Every ```python fenced block is executed on its own, in a fresh namespace
(``__name__ == "__main__"``), from a scratch directory that links the
repository's examples/ and docs/ (so ``examples/layer_norm.mlir`` and the
like resolve, and whatever a block writes lands in the scratch directory).
Tracebacks point at the block's lines in docs/python.md. A block written as
an interactive session (``>>>`` prompts) is run as a doctest instead
(ELLIPSIS and NORMALIZE_WHITESPACE). Blocks that use the CUDA target are
skipped where no CUDA GPU is available. Everything is skipped when
docs/python.md is absent.
"""

import doctest
import io
import re
import textwrap
from pathlib import Path

import pytest

import normlir_testing as nt

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "python.md"

normlir = nt.import_normlir()

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*"
                   r"(?:\{\s*\.?)?python3?\b")


def python_blocks(text):
    """[(first code line, 1-based; code)] of every ```python block."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{"
                           + str(len(fence)) + r",}[ \t]*$")
        body, j = [], i + 1
        while j < len(lines) and not close.match(lines[j]):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent)
                        else line.lstrip())
            j += 1
        blocks.append((i + 2, textwrap.dedent("\n".join(body)) + "\n"))
        i = j + 1
    return blocks


_BLOCKS = python_blocks(DOC.read_text()) if DOC.exists() else []


@pytest.fixture
def scratch_cwd(tmp_path, monkeypatch):
    """A scratch working directory with links to the repository's examples/
    and docs/ (what the docs' paths refer to)."""
    for name in ("examples", "docs"):
        if (REPO / name).is_dir():
            (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_md_parses():
    if not DOC.exists():
        pytest.skip("docs/python.md is absent")
    assert _BLOCKS, "docs/python.md has no ```python example"
    for line, code in _BLOCKS:
        if not code.lstrip().startswith(">>>"):
            compile(code, f"{DOC}:{line}", "exec")


def test_block_extraction():
    """The extractor itself (runs without docs/python.md)."""
    text = ("# T\n\n```python\nx = 1\n```\n\ntext\n\n"
            "```bash\necho no\n```\n\n"
            "- item:\n\n  ```python\n  y = 2\n  if y:\n      y = 3\n  ```\n"
            "````python\nz = '```'\n````\n")
    blocks = python_blocks(text)
    assert [code for _, code in blocks] == [
        "x = 1\n", "y = 2\nif y:\n    y = 3\n", "z = '```'\n"]
    assert blocks[0][0] == 4


def _run_doctest(code, line, namespace):
    parser = doctest.DocTestParser()
    test = parser.get_doctest(code, namespace, f"python.md:{line}", str(DOC),
                              line - 1)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()


@pytest.mark.parametrize(
    "line,code",
    _BLOCKS or [pytest.param(0, "", marks=pytest.mark.skip(
        reason="docs/python.md is absent or has no python block"))],
    ids=[f"python.md:{line}" for line, _ in _BLOCKS] or ["none"])
def test_python_md_example(line, code, scratch_cwd):
    if re.search(r"""target\s*=\s*["']cuda""", code) and \
            not nt.cuda_available():
        pytest.skip("the example needs a CUDA GPU")
    namespace = {"__name__": "__main__", "__file__": str(DOC)}
    if code.lstrip().startswith(">>>"):
        _run_doctest(code, line, namespace)
        return
    # Leading blank lines: tracebacks give the line numbers of python.md.
    exec(compile("\n" * (line - 1) + code, str(DOC), "exec"), namespace)

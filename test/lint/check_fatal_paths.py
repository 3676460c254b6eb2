"""Fails when library code (what the C, C++ and Python APIs run) contains a
call that ends the process: report_fatal_error, exit, abort, terminate,
cantFail, ExitOnError, PassPipelineRegistration (whose builder cannot fail
but through report_fatal_error), or their Python counterparts.

Tools (tools/, bench/) may exit: they are processes of their own. Every hit
outside them is listed as path:line: text. Comments are ignored; a line whose
comment says `fatal-path-ok: <why>` is a reviewed exception (LLVM's own
default behaviour on a thread outside a compile).

usage: check_fatal_paths.py SOURCE_ROOT
"""
import re
import sys
from pathlib import Path

CPP_FATAL = re.compile(
    r"\breport_fatal_error\b|\breport_bad_alloc_error\b"
    r"|(?<![\w.>:])(?:std::)?(?:exit|abort|_Exit|quick_exit)\s*\("
    r"|\bstd::terminate\b|\bcantFail\s*\(|\bExitOnError\b"
    r"|\bPassPipelineRegistration\s*<|\bLLVM_BUILTIN_TRAP\b|__builtin_trap")
PY_FATAL = re.compile(
    r"\bsys\.exit\s*\(|\bos\._exit\s*\(|\bos\.abort\s*\(|\bos\.kill\s*\("
    r"|^\s*(?:exit|quit)\s*\(")

# Library sources: everything under these, in these languages.
LIBRARY = [("lib", (".cpp", ".h")), ("include", (".h",)),
           ("python", (".cpp", ".h", ".py"))]


def strip_comment(line: str, python: bool) -> str:
    if python:
        return line.split("#", 1)[0]
    stripped = line.lstrip()
    if stripped.startswith(("*", "/*")):
        return ""
    return line.split("//", 1)[0]


def main(root: Path) -> int:
    hits, files = [], 0
    for folder, suffixes in LIBRARY:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in suffixes or not path.is_file():
                continue
            files += 1
            python = path.suffix == ".py"
            pattern = PY_FATAL if python else CPP_FATAL
            for number, line in enumerate(
                    path.read_text(encoding="utf-8").splitlines(), 1):
                code = strip_comment(line, python)
                if "fatal-path-ok:" in line[len(code):]:
                    continue
                if pattern.search(code):
                    hits.append(f"{path.relative_to(root)}:{number}: "
                                f"{line.strip()}")
    print(f"checked {files} library source files")
    for hit in hits:
        print(f"FATAL PATH {hit}")
    print(f"{len(hits)} process-ending calls")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

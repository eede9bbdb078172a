"""Import hygiene: importing the packages does no work (no model, no store, no socket, no thread), and the arrows
point down (`index` never imports `bot`). Each check runs in a fresh interpreter, so nothing is cached."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP_MODULES = ("bot", "bot.cli", "bot.chain", "bot.retrieval", "bot.answerers", "index", "index.build")
INDEX_MODULES = tuple(f"index.{p.stem}" for p in sorted((ROOT / "index").glob("*.py")) if p.stem != "__init__")
# Libraries whose import alone costs seconds or starts machinery; they load when first used, never on import.
HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "bm25s", "tiktoken", "gradio", "fastapi",
         "uvicorn", "pypdf", "bs4")

# Records every attempt to talk or listen. (Creating a socket alone is allowed: urllib3, imported by langsmith via
# langchain_core, binds ("::1", 0) at import to learn whether IPv6 works; it never connects or listens.)
PROBE = r"""
import json, socket, sys, threading
used = []
def record(method):
    real = getattr(socket.socket, method)
    def wrapper(self, *args, **kwargs):
        address = args[0] if args else None
        if not (method == "bind" and isinstance(address, tuple) and address[1] == 0):
            used.append(f"{method}{args!r}")
        return real(self, *args, **kwargs)
    setattr(socket.socket, method, wrapper)
for method in ("connect", "connect_ex", "bind", "listen", "sendto"):
    record(method)
for name in sys.argv[1:]:
    __import__(name)
print(json.dumps({"modules": sorted(sys.modules), "sockets": used,
                  "threads": [t.name for t in threading.enumerate()]}))
"""


def _import_in_fresh_interpreter(*modules: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _roots(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_importing_the_packages_loads_nothing_heavy_and_uses_no_socket() -> None:
    state = _import_in_fresh_interpreter(*TOP_MODULES)
    assert not _roots(state["modules"]) & set(HEAVY), sorted(_roots(state["modules"]) & set(HEAVY))
    assert state["sockets"] == []
    assert state["threads"] == ["MainThread"]


def test_importing_every_index_module_never_imports_bot() -> None:
    state = _import_in_fresh_interpreter(*INDEX_MODULES)
    assert "bot" not in _roots(state["modules"])
    assert not _roots(state["modules"]) & set(HEAVY)
    assert state["sockets"] == []


def test_index_source_has_no_import_of_bot_even_inside_functions() -> None:
    offenders = []
    for path in sorted((ROOT / "index").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n == "bot" or n.startswith("bot.")]
    assert offenders == []

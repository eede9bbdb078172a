"""A wheel built from the project (what `pip install .` or a container build installs) carries everything the bot
reads at run time: every module, the prompts/ templates and the web assets."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs in the installed copy only: the project root is not on its path.
CHECK = r"""
import sys
sys.path.insert(0, sys.argv[1])
import bot, bot.prompts, bot.web.widget
from pathlib import Path
site = Path(sys.argv[1]).resolve()
assert Path(bot.__file__).resolve().is_relative_to(site), bot.__file__
prompts = bot.prompts.PromptLibrary()
assert prompts.directory.resolve().is_relative_to(site), prompts.directory
print(" ".join(prompts.names()))
print(prompts.render("abstain"))
assert (bot.web.widget.STATIC_DIR / "widget.js").is_file()
"""


@pytest.mark.slow
def test_a_built_wheel_carries_the_prompts_and_the_web_assets(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("bot", "index", "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
                   check=True, env=env, cwd=tmp_path, capture_output=True)
    wheel = next((tmp_path / "dist").glob("newsbot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected_prompts = sorted(p.name for p in (ROOT / "prompts").glob("*.txt"))
    assert {f"newsbot_prompts/{name}" for name in expected_prompts} <= names
    assert {f"bot/web/static/{p.name}" for p in (ROOT / "bot" / "web" / "static").iterdir()} <= names
    # pyproject.toml lists the packages by hand (prompts/ is mapped to one): a new subpackage must be added there.
    modules = {p.relative_to(source).as_posix() for name in ("bot", "index") for p in (source / name).rglob("*.py")}
    assert modules - names == set(), "add the missing packages to [tool.setuptools] packages in pyproject.toml"

    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, env=env,
                   cwd=tmp_path, capture_output=True)
    result = subprocess.run([sys.executable, "-c", CHECK, str(site)], env=env, cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    listed, message = result.stdout.splitlines()[:2]
    assert listed.split() == [name.removesuffix(".txt") for name in expected_prompts]
    assert message == (ROOT / "prompts" / "abstain.txt").read_text().split("---")[-1].strip()

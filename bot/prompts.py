"""Prompt and message templates, kept as files in `prompts/` and validated when loaded.

Each file has a front matter block naming its variables. Loading fails when the template uses a variable it does
not declare, or declares one it never uses; rendering fails when a declared variable is not passed.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

from bot.errors import ConfigError

PROMPT_SUFFIX = ".txt"
# What pyproject.toml installs prompts/ as (an editable install maps the name back to the folder itself).
PROMPTS_PACKAGE = "newsbot_prompts"


def default_prompts_dir() -> Path:
    """`prompts/` at the project root: beside the `bot` package in a checkout (the one this code runs from, even
    when another is installed), else where the installed package is."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "prompts").is_dir():
        return root / "prompts"
    spec = importlib.util.find_spec(PROMPTS_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    return root / "prompts"


@dataclass(frozen=True)
class Prompt:
    name: str
    variables: frozenset[str]
    template: jinja2.Template
    description: str = ""

    def render(self, /, **values: Any) -> str:
        missing = self.variables - values.keys()
        if missing:
            raise ConfigError(f"Prompt {self.name!r} needs {', '.join(sorted(missing))}; it was not given.")
        try:
            return self.template.render(**values).strip()
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"Prompt {self.name!r}: {exc}.") from None


class PromptLibrary:
    """All templates of one folder, read on first use."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_prompts_dir()
        self._prompts: dict[str, Prompt] | None = None
        self._env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)

    def _load_all(self) -> dict[str, Prompt]:
        if self._prompts is None:
            if not self.directory.is_dir():
                raise ConfigError(f"Prompts folder {self.directory} does not exist. Set prompts_dir to a folder "
                                  "holding the *.txt templates.")
            self._prompts = {p.stem: self._load(p) for p in sorted(self.directory.glob(f"*{PROMPT_SUFFIX}"))}
        return self._prompts

    def _load(self, path: Path) -> Prompt:
        text = path.read_text(encoding="utf-8")
        front: dict[str, Any] = {}
        if text.startswith("---\n"):
            head, _, text = text[4:].partition("\n---\n")
            try:
                front = yaml.safe_load(head) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"Prompt file {path}: front matter is not valid YAML ({exc}).") from None
        declared = frozenset(front.get("variables") or [])
        try:
            used = jinja2.meta.find_undeclared_variables(self._env.parse(text))
            template = self._env.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"Prompt file {path}, line {exc.lineno}: {exc.message}.") from None
        if used - declared:
            raise ConfigError(f"Prompt file {path} uses {', '.join(sorted(used - declared))} but its front matter "
                              "does not declare it under variables.")
        if declared - used:
            raise ConfigError(f"Prompt file {path} declares {', '.join(sorted(declared - used))} but never uses it.")
        return Prompt(path.stem, declared, template, str(front.get("description", "")))

    def get(self, name: str) -> Prompt:
        prompts = self._load_all()
        if name not in prompts:
            raise ConfigError(f"Prompt {name!r} is missing from {self.directory}. Add {name}{PROMPT_SUFFIX}.")
        return prompts[name]

    def render(self, name: str, /, **values: Any) -> str:
        return self.get(name).render(**values)

    def names(self) -> list[str]:
        return sorted(self._load_all())

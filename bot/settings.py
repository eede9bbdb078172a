"""The one settings object: defaults, then an optional TOML file, then BOT_* variables, then explicit overrides.

Built once at the edge (the CLI's main() or the web app factory) and passed down; nothing else reads the
environment.
"""
from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from bot.errors import ConfigError

log = logging.getLogger(__name__)

ENV_PREFIX = "BOT_"
# Names people reach for that are another setting's ("top_k" in LangChain and most RAG tools): "did you mean" them.
ALIASES = {"top_k": "k", "topk": "k", "n_results": "k", "model": "model_path", "embedding_model": "model_path",
           "reranker": "reranker_path", "url": "chroma_url", "chroma_host": "chroma_url", "chroma": "chroma_url",
           "collection_name": "collection", "api_key": "api_keys", "origins": "allowed_origins",
           "cors_origins": "allowed_origins", "timeout": "chroma_timeout"}
# Chroma's rule for collection names (it names the keyword index's folder too, so no "/" may reach the path):
# no "..", not an IPv4 address. At most 200 characters, not Chroma's 512: a file name stops at 255 (the keyword
# index's folder is named after it) and the rebuilt index's collection adds "-rebuild".
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,198}[A-Za-z0-9]")
_IPV4_SHAPE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


@dataclass(frozen=True)
class Origin:
    """Where a setting's value came from: a BOT_* variable, or a config file (else a default or an option)."""

    variable: str | None = None
    config_file: Path | None = None

    def described(self) -> str:
        """'from BOT_K' or 'in config file bot.toml', for the end of a message about the value."""
        return f"from {self.variable}" if self.variable else f"in config file {self.config_file}"


class InvalidSetting(ConfigError):
    """A setting whose value is of the right kind but out of range; `setting` names it, so Settings.load can say
    where the value came from."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class Settings:
    # Where the index lives (embedded Chroma, BM25 sidecar, feedback database).
    data_dir: Path = Path(".bot")
    # A Chroma server (`chroma run`) instead of the embedded store, e.g. http://127.0.0.1:8000.
    chroma_url: str | None = None
    collection: str = "news"
    # Folders indexed by `bot index` without arguments, and by `make run`.
    corpus: tuple[Path, ...] = (Path("seeds"),)
    # A sentence-transformers model folder; None means the packaged all-MiniLM-L6-v2.
    model_path: str | None = None
    # Chunks are bounded in the embedding model's word pieces, so it sees every chunk whole.
    chunk_tokens: int = 200
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 64
    # Retrieval.
    k: int = 5
    candidates: int = 20
    mmr: bool = False
    mmr_lambda: float = 0.7
    reranker_path: str | None = None
    # Answering.
    answerer: str = "extractive"
    max_answer_sentences: int = 3
    max_question_chars: int = 2000
    prompts_dir: Path | None = None
    # Web.
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: tuple[str, ...] = ()
    api_keys: tuple[str, ...] = ()
    rate_limit_per_minute: int = 120
    # Chat answers run this many at once (Gradio's default is one per event), so one person's slow answer does
    # not hold up everyone else's. More does not raise throughput on a CPU-bound machine.
    chat_concurrency: int = 4
    # Seconds a Chroma server may take over one request before it counts as stopped or stuck.
    chroma_timeout: float = 30.0
    # Where each value came from (settings left out were defaults or options); not a setting itself. Messages about
    # a value name it as the user gave it: "chroma_url in bot.toml", not BOT_CHROMA_URL (see named / leave_out).
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        positive = ("chunk_tokens", "embed_batch_size", "k", "candidates", "max_answer_sentences",
                    "max_question_chars", "rate_limit_per_minute", "chat_concurrency")
        for name in positive:
            value = getattr(self, name)
            if value <= 0:
                raise InvalidSetting(name, f"{name} must be greater than 0. Currently, {name} is {value}.")
        if self.chunk_overlap_sentences < 0:
            raise InvalidSetting("chunk_overlap_sentences", "chunk_overlap_sentences must be 0 or more. Currently, "
                                                            f"it is {self.chunk_overlap_sentences}.")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise InvalidSetting("mmr_lambda", "mmr_lambda must be between 0 and 1. Currently, mmr_lambda is "
                                               f"{self.mmr_lambda}.")
        if (not _COLLECTION_NAME.fullmatch(self.collection) or ".." in self.collection
                or _IPV4_SHAPE.fullmatch(self.collection)):
            raise InvalidSetting(
                "collection",
                "collection must be 3 to 200 letters, digits, '.', '_' or '-', starting and ending with a letter or "
                "digit, without '..' and not an IP address like 192.168.1.1 (Chroma's rules, and room for the "
                f"index's folder name). Currently, it is {self.collection!r}."
            )
        if not 1 <= self.port <= 65535:
            raise InvalidSetting("port", f"port must be between 1 and 65535. Currently, port is {self.port}.")
        if not self.chroma_timeout > 0:
            raise InvalidSetting("chroma_timeout", "chroma_timeout must be greater than 0 (seconds). Currently, "
                                                   f"chroma_timeout is {self.chroma_timeout}.")

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25" / self.collection

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    def replace(self, **changes: Any) -> Settings:
        given = {k: v for k, v in changes.items() if v is not None}
        origins = {k: v for k, v in self.origins.items() if k not in given}
        return dataclasses.replace(self, **given, origins=origins)

    @classmethod
    def names(cls) -> list[str]:
        """Every setting's name."""
        return [f.name for f in fields(cls) if f.name != "origins"]

    def named(self, name: str) -> str:
        """The setting as the user gave it: 'BOT_CHROMA_URL', 'chroma_url in bot.toml', or 'chroma_url'."""
        origin = self.origins.get(name)
        if origin is not None and origin.variable:
            return origin.variable
        if origin is not None:
            return f"{name} in {origin.config_file}"
        return name

    def leave_out(self, name: str) -> str:
        """How to stop setting it: 'unset BOT_CHROMA_URL', 'remove chroma_url from bot.toml', or 'unset
        chroma_url'."""
        origin = self.origins.get(name)
        if origin is not None and not origin.variable:
            return f"remove {name} from {origin.config_file}"
        return f"unset {self.named(name)}"

    @classmethod
    def load(
        cls,
        *,
        config_file: Path | None = None,
        config_origin: str | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Defaults < config file (`bot.toml`, or BOT_CONFIG) < BOT_* variables < overrides (None = unset).

        `config_origin` is how the caller's user named `config_file` (e.g. "--config"), for the error messages."""
        env = dict(env or {})
        values: dict[str, Any] = {}
        origins: dict[str, Origin] = {}  # where each value came from, for the messages
        if config_file is None and env.get("BOT_CONFIG"):
            config_file, config_origin = Path(env["BOT_CONFIG"]), "BOT_CONFIG"
        if config_file is None and Path("bot.toml").is_file():
            config_file, config_origin = Path("bot.toml"), None
        from_file: dict[str, Any] = {}
        if config_file is not None:
            from_file = _read_config_file(Path(config_file), origin=config_origin)
            values.update(from_file)
            origins.update(dict.fromkeys(from_file, Origin(config_file=Path(config_file))))
        known = set(cls.names())
        for key, raw in sorted(env.items()):
            if key.startswith(ENV_PREFIX) and key != "BOT_CONFIG":
                name = key[len(ENV_PREFIX):].lower()
                if name in known:
                    values[name], origins[name] = raw, Origin(variable=key)
                else:
                    _warn_unknown_variable(key, known)
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        for name in given:
            origins.pop(name, None)
        unknown = sorted(set(values) - known)
        if unknown:
            where = f" in config file {config_file}" if unknown[0] in from_file else ""
            close = closest_setting(unknown[0], known)
            hint = f" Did you mean {close!r}?" if close else ""
            raise ConfigError(f"Unknown setting {unknown[0]!r}{where}.{hint} Known settings: "
                              f"{', '.join(sorted(known))}.")
        hints = get_type_hints(cls)
        coerced = {name: _coerce(name, value, hints[name], origin=_described(origins.get(name)))
                   for name, value in values.items()}
        try:
            return cls(**coerced, origins=origins)
        except InvalidSetting as exc:
            origin = origins.get(exc.setting)
            if origin is None:
                raise
            # "... Currently, k is 0 (from BOT_K).": whoever set it can find where.
            raise ConfigError(f"{str(exc).removesuffix('.')} ({origin.described()}).") from None


def _described(origin: Origin | None) -> str | None:
    return origin.described() if origin is not None else None


def closest_setting(name: str, known: set[str]) -> str | None:
    """The setting a mistyped or borrowed name most likely means ('chromaurl' -> 'chroma_url', 'top_k' -> 'k')."""
    lowered = name.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    squeezed = {n.replace("_", ""): n for n in known}
    if lowered.replace("_", "") in squeezed:
        return squeezed[lowered.replace("_", "")]
    close = difflib.get_close_matches(lowered, sorted(known), n=1, cutoff=0.7)
    return close[0] if close else None


def _warn_unknown_variable(key: str, known: set[str]) -> None:
    """A BOT_* variable that is no setting is named in a warning, not refused: other programs may use the prefix
    (a chat platform's BOT_TOKEN), but a mistyped BOT_CHROMAURL silently indexed into the embedded store instead of
    the server. The warning names the closest setting's variable, when one is close."""
    close = closest_setting(key[len(ENV_PREFIX):], known)
    hint = f" Did you mean {ENV_PREFIX}{close.upper()}?" if close else ""
    log.warning("%s is not a setting, so it is ignored.%s", key, hint)


def _read_config_file(path: Path, *, origin: str | None) -> dict[str, Any]:
    """The settings in a TOML file. Each way it can fail is one ConfigError naming the file, what is wrong and
    what to do: missing, a folder, not a regular file (a named pipe would block the read forever), unreadable, not
    UTF-8, not TOML, or a `bot` key that is not a table."""
    named = f"Config file {path}" + (f" (given with {origin})" if origin else "")
    leave_out = f"leave out {origin}" if origin == "--config" else f"unset {origin}" if origin else "remove it"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{named} does not exist. Check the path, or {leave_out}.") from None
    except OSError as exc:
        raise ConfigError(f"{named} cannot be read ({exc.strerror or exc}). Check the path, or {leave_out}.") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{named} is a folder, not a file. Point it at a TOML file, or {leave_out}.")
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{named} is not a regular file (a pipe or a device?). Point it at a TOML file, "
                          f"or {leave_out}.")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except PermissionError:
        raise ConfigError(f"{named} cannot be read (permission denied). Make it readable "
                          f"(`chmod a+r {path}`), or {leave_out}.") from None
    except OSError as exc:
        raise ConfigError(f"{named} cannot be read ({exc.strerror or exc}). Check the file, or {leave_out}.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{named} is not UTF-8 text ({exc.reason} at byte {exc.start}). Save it as UTF-8 "
                          "TOML.") from None
    except tomllib.TOMLDecodeError as exc:
        other = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}.get(path.suffix.lower())
        hint = f"Settings files are TOML (`k = 5`), not {other}." if other else f"Fix it, or {leave_out}."
        raise ConfigError(f"{named} is not valid TOML: {exc}. {hint}") from None
    # Accept either top-level keys or a [bot] table.
    table = data.get("bot", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{named}: `bot` must be a table of settings ([bot]), not {table!r}. Put the settings "
                          "under [bot], or at the top level.")
    if table is not data and len(data) > 1:
        # (Before, the top-level ones were dropped without a word, even invalid ones: `k = 0` above [bot].)
        others = ", ".join(sorted(key for key in data if key != "bot"))
        raise ConfigError(f"{named} has settings at the top level ({others}) and in a [bot] table. Put them all "
                          "under [bot], or all at the top level.")
    return dict(table)


def _kind(hint: str) -> str:
    """What a setting of this type is, in words."""
    if "tuple" in hint:
        return "a list of texts (comma-separated in a BOT_* variable)"
    for name, words in (("bool", "true or false"), ("int", "a whole number"), ("float", "a number"),
                        ("Path", "a path"), ("str", "text")):
        if name in hint:
            return words + (", or nothing" if "None" in hint else "")
    return hint


def _coerce(name: str, value: Any, hint: Any, *, origin: str | None = None) -> Any:
    text = str(hint)
    where = f" ({origin})" if origin else ""
    if "Path" in text and "None" not in text and "tuple" not in text and isinstance(value, str) and not value.strip():
        raise ConfigError(f"Setting {name} is empty{where}, which would mean the current folder. Give a folder "
                          "(`.` for the current one), or leave the setting out for the default.")
    try:
        if isinstance(value, str):
            if "tuple" in text:
                items = [item.strip() for item in value.split(",") if item.strip()]
                return tuple(Path(i) for i in items) if "Path" in text else tuple(items)
            if "None" in text and value.strip() == "":
                return None
            if "bool" in text:
                lowered = value.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return lowered in ("1", "true", "yes", "on")
            if "int" in text:
                return int(value)
            if "float" in text:
                return float(value)
            if "Path" in text:
                return Path(value)
            return value
        if "tuple" in text and isinstance(value, (list, tuple)):
            return tuple(Path(v) for v in value) if "Path" in text else tuple(str(v) for v in value)
        if value is None and "None" in text:
            return None
        # TOML values come typed: check them as strictly as the strings above (to Python a bool is an int).
        if "bool" in text:
            expected: tuple[type, ...] = (bool,)
        elif "int" in text:
            expected = (int,)
        elif "float" in text:
            expected = (int, float)
        elif "Path" in text:
            expected = (str, Path)
        else:
            expected = (str,)
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise ValueError(value)
        if "Path" in text:
            return Path(value)
        return float(value) if "float" in text else value
    except ValueError:
        raise ConfigError(f"Setting {name} has an invalid value {value!r}{where}: expected {_kind(text)}.") from None


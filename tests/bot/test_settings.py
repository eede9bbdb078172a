"""Settings: defaults < TOML file < BOT_* variables < overrides; every invalid value is a ConfigError naming it."""
from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings


@pytest.fixture(autouse=True)
def no_bot_toml_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings.load() reads ./bot.toml when present: run in an empty folder so the checkout's files never leak in.
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def write_toml(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = Settings.load(env={})
    assert settings == Settings()
    assert (settings.k, settings.candidates, settings.mmr, settings.answerer) == (5, 20, False, "extractive")
    assert (settings.host, settings.port, settings.max_question_chars) == ("127.0.0.1", 7860, 2000)
    assert settings.corpus == (Path("seeds"),)
    assert settings.chroma_url is None and settings.reranker_path is None and settings.api_keys == ()
    assert settings.chroma_dir == Path(".bot/chroma")
    assert settings.bm25_dir == Path(".bot/bm25/news")
    assert settings.feedback_db == Path(".bot/feedback.sqlite3")


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().k = 3  # type: ignore[misc]


def test_toml_file_top_level_and_bot_table(tmp_path: Path) -> None:
    top = Settings.load(config_file=write_toml(tmp_path, 'k = 3\nmmr = true\ncorpus = ["a", "b"]\n'), env={})
    assert (top.k, top.mmr, top.corpus) == (3, True, (Path("a"), Path("b")))
    table = Settings.load(config_file=write_toml(tmp_path, '[bot]\nk = 4\ndata_dir = "d"\n', "t.toml"), env={})
    assert (table.k, table.data_dir) == (4, Path("d"))


def test_bot_toml_in_the_working_folder_and_bot_config(tmp_path: Path) -> None:
    write_toml(Path.cwd(), "k = 6\n", "bot.toml")
    assert Settings.load(env={}).k == 6
    other = write_toml(tmp_path, "k = 7\n", "other.toml")
    assert Settings.load(env={"BOT_CONFIG": str(other)}).k == 7


def test_env_variables_coerce_lists_bools_ints_floats_and_empty(tmp_path: Path) -> None:
    env = {
        "BOT_CORPUS": "seeds, more/news ,",
        "BOT_API_KEYS": "k1,k2",
        "BOT_ALLOWED_ORIGINS": "http://a.example",
        "BOT_MMR": "yes",
        "BOT_K": "8",
        "BOT_PORT": "8000",
        "BOT_MMR_LAMBDA": "0.5",
        "BOT_CHROMA_URL": "",
        "BOT_DATA_DIR": "/tmp/x",
        "BOT_UNRELATED": "ignored",  # not a setting: BOT_* variables the product does not know are left alone
        "HOME": "/root",
    }
    settings = Settings.load(env=env)
    assert settings.corpus == (Path("seeds"), Path("more/news"))
    assert settings.api_keys == ("k1", "k2")
    assert settings.allowed_origins == ("http://a.example",)
    assert settings.mmr is True
    assert (settings.k, settings.port, settings.mmr_lambda) == (8, 8000, 0.5)
    assert settings.chroma_url is None
    assert settings.data_dir == Path("/tmp/x")


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("On", True), ("YES", True),
                                               ("0", False), ("false", False), ("off", False), ("no", False)])
def test_env_bools(raw: str, expected: bool) -> None:
    assert Settings.load(env={"BOT_MMR": raw}).mmr is expected


def test_precedence_file_then_env_then_overrides(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "k = 3\ncandidates = 30\nport = 9000\n")
    settings = Settings.load(config_file=path, env={"BOT_K": "4", "BOT_PORT": "9001"}, k=6, port=None)
    assert (settings.k, settings.candidates, settings.port) == (6, 30, 9001)


def test_replace_ignores_none() -> None:
    settings = Settings().replace(k=9, reranker_path=None)
    assert settings.k == 9 and settings.reranker_path is None


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"BOT_K": "five"}, ("k", "five")),
        ({"BOT_PORT": "80.5"}, ("port", "80.5")),
        ({"BOT_MMR": "maybe"}, ("mmr", "maybe")),
        ({"BOT_MMR_LAMBDA": "high"}, ("mmr_lambda", "high")),
        ({"BOT_K": "0"}, ("k", "0")),
        ({"BOT_CANDIDATES": "-3"}, ("candidates", "-3")),
        ({"BOT_CHUNK_TOKENS": "0"}, ("chunk_tokens",)),
        ({"BOT_EMBED_BATCH_SIZE": "0"}, ("embed_batch_size",)),
        ({"BOT_MAX_ANSWER_SENTENCES": "0"}, ("max_answer_sentences",)),
        ({"BOT_MAX_QUESTION_CHARS": "0"}, ("max_question_chars",)),
        ({"BOT_RATE_LIMIT_PER_MINUTE": "0"}, ("rate_limit_per_minute",)),
        ({"BOT_CHUNK_OVERLAP_SENTENCES": "-1"}, ("chunk_overlap_sentences", "-1")),
        ({"BOT_MMR_LAMBDA": "1.5"}, ("mmr_lambda", "1.5")),
        ({"BOT_COLLECTION": "ab"}, ("collection", "'ab'")),
        ({"BOT_PORT": "70000"}, ("port", "70000")),
        ({"BOT_PORT": "0"}, ("port", "0")),
        ({"BOT_CHAT_CONCURRENCY": "0"}, ("chat_concurrency", "0")),
    ],
)
def test_invalid_env_values_are_config_errors_naming_them(env: dict[str, str], names: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(env=env)
    for name in names:
        assert name in str(caught.value)


def test_invalid_values_in_the_file_and_in_overrides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mmr_lambda"):
        Settings.load(config_file=write_toml(tmp_path, "mmr_lambda = -0.1\n"), env={})
    with pytest.raises(ConfigError, match=r"\bk\b.*-2"):
        Settings.load(env={}, k=-2)


def test_unknown_setting_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'colour'"):
        Settings.load(config_file=write_toml(tmp_path, 'colour = "blue"\n'), env={})
    with pytest.raises(ConfigError, match="'kk'"):
        Settings.load(env={}, kk=3)


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="nope.toml"):
        Settings.load(env={"BOT_CONFIG": str(missing)})
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config_file=write_toml(tmp_path, "k = = 3\n"), env={})


@pytest.mark.parametrize(("toml", "name"), [("collection = 123", "collection"), ("k = 2.5", "k"),
                                            ("k = [1]", "k"), ("data_dir = 5", "data_dir")])
def test_wrongly_typed_toml_values_are_config_errors(tmp_path: Path, toml: str, name: str) -> None:
    with pytest.raises(ConfigError, match=rf"\b{name}\b"):
        Settings.load(config_file=write_toml(tmp_path, toml + "\n"), env={})


@pytest.mark.parametrize("origin", ["--config", None])
def test_a_config_file_that_cannot_be_read_is_one_line_naming_it(
    tmp_path: Path, origin: str | None, lock: Callable[[Path], None]
) -> None:
    folder = tmp_path / "conf.d"
    folder.mkdir()
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)  # opening it would wait for a writer forever
    locked = write_toml(tmp_path, "k = 3\n", "locked.toml")
    shown = f" (given with {origin})" if origin else ""
    for path, problem in ((folder, "is a folder, not a file"), (pipe, "is not a regular file"),
                          (tmp_path / "gone.toml", "does not exist")):
        with pytest.raises(ConfigError) as caught:
            Settings.load(config_file=path, config_origin=origin, env={})
        assert str(caught.value).startswith(f"Config file {path}{shown} {problem}")
        assert "\n" not in str(caught.value)
    lock(locked)
    with pytest.raises(ConfigError, match=rf"^Config file {locked}{re.escape(shown)} cannot be read \(permission "
                                          rf"denied\)\. Make it readable \(`chmod a\+r {locked}`\)"):
        Settings.load(config_file=locked, config_origin=origin, env={})


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.toml", b"k = [\n",
         " is not valid TOML: Invalid value (at end of document). Fix it, or unset BOT_CONFIG."),
        ("settings.yaml", b"k: 3\n", " is not valid TOML: Expected '=' after a key in a key/value pair (at line 1, "
                                     "column 2). Settings files are TOML (`k = 5`), not YAML."),
        ("latin.toml", b'collection = "caf\xe9"\n', " is not UTF-8 text (invalid continuation byte at byte 17)."),
        ("table.toml", b"bot = 3\n", ": `bot` must be a table of settings ([bot]), not 3."),
    ],
)
def test_a_malformed_config_file_is_one_line_naming_it(tmp_path: Path, name: str, content: bytes,
                                                       problem: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        Settings.load(env={"BOT_CONFIG": str(path)})
    assert str(caught.value).startswith(f"Config file {path} (given with BOT_CONFIG){problem}")
    assert "\n" not in str(caught.value)


def test_an_unknown_setting_in_the_file_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'k = 3\ncolour = "blue"\n')
    with pytest.raises(ConfigError, match=rf"^Unknown setting 'colour' in config file {path}\. Known settings: "):
        Settings.load(config_file=path, env={})
    with pytest.raises(ConfigError, match=r"^Unknown setting 'kk'\. Known"):
        Settings.load(config_file=write_toml(tmp_path, "k = 3\n", "clean.toml"), env={}, kk=3)


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"BOT_K": "five"}, "", "Setting k has an invalid value 'five' (from BOT_K): expected a whole number."),
        ({"BOT_MMR": "maybe"}, "", "Setting mmr has an invalid value 'maybe' (from BOT_MMR): expected true or false."),
        ({"BOT_MMR_LAMBDA": "x"}, "", "Setting mmr_lambda has an invalid value 'x' (from BOT_MMR_LAMBDA): expected "
                                      "a number."),
        ({}, 'k = 2.5', "Setting k has an invalid value 2.5 (in config file {file}): expected a whole number."),
        ({}, "corpus = 5", "Setting corpus has an invalid value 5 (in config file {file}): expected a list of texts "
                           "(comma-separated in a BOT_* variable)."),
    ],
)
def test_an_invalid_value_says_where_it_came_from_and_what_is_wanted(
    tmp_path: Path, env: dict[str, str], toml: str, message: str
) -> None:
    """The message said "(expected <class 'int'>)", and not whether the value came from the file or a variable."""
    path = write_toml(tmp_path, toml + "\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(config_file=path, env=env)
    assert str(caught.value) == message.format(file=path)


@pytest.mark.parametrize(("env", "toml"), [({"BOT_DATA_DIR": ""}, ""), ({"BOT_DATA_DIR": "  "}, ""),
                                           ({}, 'data_dir = ""')])
def test_an_empty_data_dir_is_refused_not_taken_for_the_current_folder(
    tmp_path: Path, env: dict[str, str], toml: str
) -> None:
    """`BOT_DATA_DIR= bot index` wrote the index into the working folder (Path("") is "."), as `--data-dir ""`
    would have, which the command line refuses."""
    with pytest.raises(ConfigError, match=r"^Setting data_dir is empty \((from BOT_DATA_DIR|in config file .*)\), "
                                          r"which would mean the current folder"):
        Settings.load(config_file=write_toml(tmp_path, toml + "\n"), env=env)


@pytest.mark.parametrize("name", ["my news", "news/2024", "-news", "news.", "a" * 513, "../x", "a..b", "192.168.1.1",
                                  "0.0.0.0", "a" * 201])
def test_a_collection_name_chroma_refuses_is_a_config_error(name: str) -> None:
    """Chroma refused it only when the index was opened, as "InvalidArgumentError: Validation error: ..."; a name
    over ~247 characters failed making the keyword index's folder ("File name too long")."""
    with pytest.raises(ConfigError, match=r"^collection must be 3 to 200 letters, digits, .*Currently, it is '") as e:
        Settings.load(env={"BOT_COLLECTION": name})
    assert "\n" not in str(e.value)
    for good in ("news_2024.v-1", "a" * 200, "192.168.1", "1.2.3.4.5", "v1.2.3.4a"):
        assert Settings.load(env={"BOT_COLLECTION": good}).collection == good


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"BOT_K": "0"}, "", "k must be greater than 0. Currently, k is 0 (from BOT_K)."),
        ({}, "mmr_lambda = 1.5", "mmr_lambda must be between 0 and 1. Currently, mmr_lambda is 1.5 (in config file "
                                 "{file})."),
        ({"BOT_PORT": "70000"}, "", "port must be between 1 and 65535. Currently, port is 70000 (from BOT_PORT)."),
        ({}, 'collection = "ab"', "collection must be 3 to 200 letters, digits, '.', '_' or '-', starting and ending "
                                  "with a letter or digit, without '..' and not an IP address like 192.168.1.1 "
                                  "(Chroma's rules, and room for the index's folder name). Currently, it is 'ab' (in "
                                  "config file {file})."),
    ],
)
def test_a_value_out_of_range_says_where_it_came_from(
    tmp_path: Path, env: dict[str, str], toml: str, message: str
) -> None:
    """`BOT_K=0` (or `k = 0` in bot.toml) said only "k must be greater than 0": not where a k came from that the
    command line never gave."""
    path = write_toml(tmp_path, toml + "\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(config_file=path, env=env)
    assert str(caught.value) == message.format(file=path)
    with pytest.raises(ConfigError, match=r"^k must be greater than 0\. Currently, k is 0\.$"):
        Settings.load(env={}, k=0)  # given by the caller (-k): it knows where


# --- mistakes that went unnoticed, and where a value came from ---------------------------------------------------


def test_an_unknown_bot_variable_is_a_warning_naming_the_closest_setting(caplog: pytest.LogCaptureFixture) -> None:
    """BOT_CHROMAURL was ignored without a word, and `bot index` filled the embedded store instead of the server.
    Warned, not refused: other programs may use the prefix (BOT_TOKEN), and a warning names the variable."""
    settings = Settings.load(env={"BOT_CHROMAURL": "http://127.0.0.1:8000", "BOT_TOPK": "3", "BOT_TOKEN": "x",
                                  "BOT_K": "4", "BOT_CONFIG": ""})
    assert settings.chroma_url is None and settings.k == 4
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "BOT_CHROMAURL is not a setting, so it is ignored. Did you mean BOT_CHROMA_URL?",
        "BOT_TOKEN is not a setting, so it is ignored.",
        "BOT_TOPK is not a setting, so it is ignored. Did you mean BOT_K?",
    ]


@pytest.mark.parametrize(("key", "meant"), [("top_k", "k"), ("chromaurl", "chroma_url"), ("candidate", "candidates"),
                                            ("mmr_lamda", "mmr_lambda"), ("origins", "allowed_origins")])
def test_an_unknown_key_in_the_file_says_which_setting_it_may_mean(tmp_path: Path, key: str, meant: str) -> None:
    path = write_toml(tmp_path, f"{key} = 3\n")
    with pytest.raises(ConfigError, match=rf"^Unknown setting {key!r} in config file {re.escape(str(path))}\. Did "
                                          rf"you mean {meant!r}\? Known settings: "):
        Settings.load(config_file=path, env={})


def test_top_level_keys_beside_a_bot_table_are_refused(tmp_path: Path) -> None:
    """They were dropped without a word, even invalid ones (`k = 0` above [bot])."""
    path = write_toml(tmp_path, "k = 0\ncandidates = -1\n[bot]\nmmr = true\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(config_file=path, env={})
    assert str(caught.value) == (f"Config file {path} has settings at the top level (candidates, k) and in a [bot] "
                                 "table. Put them all under [bot], or all at the top level.")


def test_settings_know_where_each_value_came_from(tmp_path: Path) -> None:
    """So a message names the setting as the user gave it, not BOT_CHROMA_URL for a value from bot.toml."""
    path = write_toml(tmp_path, 'chroma_url = "http://127.0.0.1:8000"\nk = 3\n', "bot.toml")
    settings = Settings.load(config_file=path, env={"BOT_K": "4", "BOT_RERANKER_PATH": "r"}, mmr=True)
    assert (settings.named("chroma_url"), settings.leave_out("chroma_url")) == (
        f"chroma_url in {path}", f"remove chroma_url from {path}")
    assert (settings.named("k"), settings.leave_out("k")) == ("BOT_K", "unset BOT_K")
    assert (settings.named("mmr"), settings.named("collection")) == ("mmr", "collection")
    assert "origins" not in Settings.names()
    replaced = settings.replace(k=9)
    assert (replaced.named("k"), replaced.named("reranker_path")) == ("k", "BOT_RERANKER_PATH")
    assert settings == Settings(chroma_url="http://127.0.0.1:8000", k=4, reranker_path="r", mmr=True)


def test_chroma_timeout(tmp_path: Path) -> None:
    assert Settings().chroma_timeout == 30.0
    assert Settings.load(env={"BOT_CHROMA_TIMEOUT": "2.5"}).chroma_timeout == 2.5
    with pytest.raises(ConfigError, match=r"^chroma_timeout must be greater than 0 \(seconds\)\. Currently, "
                                          r"chroma_timeout is 0\.0 \(from BOT_CHROMA_TIMEOUT\)\.$"):
        Settings.load(env={"BOT_CHROMA_TIMEOUT": "0"})

"""The real pipeline over an index of seeds/, built once per session in a temporary data dir."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


@pytest.fixture(scope="session")
def seeds_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data dir holds a fresh index of seeds/ (the only step to adjust if indexing moves)."""
    try:
        from bot.indexing import make_indexer
    except ImportError as exc:
        pytest.skip(f"bot.indexing.make_indexer is not available yet ({exc}).")
    settings = Settings(data_dir=tmp_path_factory.mktemp("bot-data"), corpus=(SEEDS,))
    make_indexer(settings, progress=False).run([SEEDS])
    return settings


@pytest.fixture(scope="session")
def seeds_pipeline(seeds_settings: Settings) -> Any:
    """`bot.chain.build_pipeline` over the seeds index; skipped until the real pipeline exists."""
    import bot.chain

    if not hasattr(bot.chain, "build_pipeline"):
        pytest.skip("bot.chain.build_pipeline does not exist yet; the dev-set run needs the real pipeline.")
    return bot.chain.build_pipeline(seeds_settings)

"""newsbot: answers questions from news articles, quoting the sentence that supports each answer.

Importing the package loads nothing heavy; see `bot.chain.build_pipeline`.
"""

__version__ = "0.1.0"

"""Question -> ranked, cited Answer, one concern a module, data flowing one way:

    analysis    text -> concepts: stems, aliases and synonyms, question types, answer cues
    spelling    typo mending and completion of a question's words (the English dictionary)
    annotate    a document's sentences analysed once, when the index is built
    packed      integer tables as arrays: how the analysis is stored and read back in place
    store       the analysis in the index: written by the build, reused, read at start
    sentences   a sentence as the index holds it: whole, or packed as stored
    candidates  the sentences' postings, idf and the shortlist (never the whole corpus)
    phrasings   the FAQ phrasings' postings: which entries hold a question, and how much
    scoring     sentence and FAQ scores, and the one order an answer quotes them in
    confidence  evidence -> probability of a right answer; refusal; the fitted numbers
    settings    the tunable numbers, filled from the config
    engine      the Engine: loads the index once and ties the steps together

Everything the rest of the bot and the tests use is imported from here.
"""

from bot.answer import DocumentInfo
from bot.search.engine import MAX_EXCERPTS, MAX_MORE, MAX_QUERY_CHARS, Engine, iter_questions
from bot.search.settings import Settings
from bot.search.spelling import english_level, warm_up

__all__ = [
    "MAX_EXCERPTS",
    "MAX_MORE",
    "MAX_QUERY_CHARS",
    "DocumentInfo",
    "Engine",
    "Settings",
    "english_level",
    "iter_questions",
    "warm_up",
]

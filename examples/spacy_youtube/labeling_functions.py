"""The ten YouTube-spam labeling functions, written as spaCy components.

They re-implement the labeling functions that ``readme.txt`` beside the
bundled youtube data describes (the LFs of the Snorkel spam tutorial that
WRENCH used), with what runs offline on ``spacy.blank("en")``:

* the seven keyword/regex/length LFs are exact: on the bundled train split
  they cast exactly the votes shipped with the data;
* ``has_person_nlp`` reads ``doc.ents`` as the original does, but the PERSON
  entities come from an ``entity_ruler`` with the names of the singers and
  celebrities the comments talk about (``PERSON_PATTERNS``) instead of a
  statistical NER model that would have to be downloaded;
* ``textblob_polarity`` and ``textblob_subjectivity`` replace TextBlob's
  sentiment lexicon with two small word lists (very positive words;
  subjective words).

Each LF votes ``"SPAM"``, ``"HAM"`` or ``None`` (abstain); its vote lands in
``doc.spans[<LF name>]``. Load this module before spaCy needs the factories:
``python -m spacy train config.cfg --code labeling_functions.py``.
"""

from __future__ import annotations

import re

import spacy

from weaksup.spacy import labeling_function

SPAM, HAM = "SPAM", "HAM"
LABELS = [HAM, SPAM]


def _keyword_vote(doc, keywords, label):
    text = doc.text.lower()
    return label if any(word in text for word in keywords) else None


@labeling_function("keyword_my", labels=[SPAM])
def keyword_my(doc):
    """Spam comments talk about 'my channel', 'my video', etc."""
    return _keyword_vote(doc, ["my"], SPAM)


@labeling_function("keyword_subscribe", labels=[SPAM])
def keyword_subscribe(doc):
    """Spam comments ask users to subscribe to their channels."""
    return _keyword_vote(doc, ["subscribe"], SPAM)


@labeling_function("keyword_link", labels=[SPAM])
def keyword_link(doc):
    """Spam comments post links to other channels."""
    return _keyword_vote(doc, ["http"], SPAM)


@labeling_function("keyword_please", labels=[SPAM])
def keyword_please(doc):
    """Spam comments make requests rather than commenting."""
    return _keyword_vote(doc, ["please", "plz"], SPAM)


@labeling_function("keyword_song", labels=[HAM])
def keyword_song(doc):
    """Ham comments actually talk about the video's content."""
    return _keyword_vote(doc, ["song"], HAM)


_CHECK_OUT = re.compile(r"check.*out", flags=re.I)


@labeling_function("regex_check_out", labels=[SPAM])
def regex_check_out(doc):
    """Spam comments request users check other links."""
    return SPAM if _CHECK_OUT.search(doc.text) else None


@labeling_function("short_comment", labels=[HAM])
def short_comment(doc):
    """Ham comments are often short, such as 'cool video!'."""
    return HAM if len(doc.text.split()) < 5 else None


@labeling_function("has_person_nlp", labels=[HAM])
def has_person_nlp(doc):
    """Ham comments mention specific people and are short."""
    if len(doc) < 20 and any(ent.label_ == "PERSON" for ent in doc.ents):
        return HAM
    return None


# Very positive words (TextBlob gives each a polarity of 0.9 or more).
POSITIVE = {
    "best", "perfect", "awesome", "excellent", "greatest", "superb", "magnificent",
    "wonderful", "brilliant", "outstanding", "flawless", "fantastic", "incredible",
}
# Words TextBlob counts as subjective (subjectivity of 0.5 or more).
SUBJECTIVE = {
    "love", "loved", "lovely", "like", "nice", "beautiful", "amazing", "awesome", "cool",
    "funny", "sad", "stupid", "cute", "crazy", "epic", "favorite", "favourite", "great",
    "good", "bad", "hot", "sexy", "wow", "omg", "lol", "hate", "gorgeous", "perfect",
    "wonderful", "fantastic", "incredible", "annoying", "boring", "catchy", "weird",
    "happy", "fun", "pretty", "adorable", "fabulous", "terrible", "horrible", "ugly",
}


def _words(doc):
    return [tok.lower_ for tok in doc if tok.is_alpha]


@labeling_function("textblob_polarity", labels=[HAM])
def textblob_polarity(doc):
    """Ham comments are very positive (TextBlob polarity > 0.9)."""
    return HAM if any(w in POSITIVE for w in _words(doc)) else None


@labeling_function("textblob_subjectivity", labels=[HAM])
def textblob_subjectivity(doc):
    """Ham comments are subjective (TextBlob subjectivity >= 0.5)."""
    return HAM if any(w in SUBJECTIVE for w in _words(doc)) else None


LF_NAMES = [
    "keyword_my", "keyword_subscribe", "keyword_link", "keyword_please", "keyword_song",
    "regex_check_out", "short_comment", "has_person_nlp", "textblob_polarity", "textblob_subjectivity",
]

# PERSON patterns for the entity_ruler that has_person_nlp reads: the singers of
# the five videos and the celebrities their comments mention most.
_PEOPLE = [
    "katy perry", "katy", "perry", "eminem", "marshall mathers", "rihanna", "shakira", "psy",
    "justin bieber", "bieber", "justin", "michael jackson", "lady gaga", "taylor swift",
    "miley cyrus", "miley", "beyonce", "nicki minaj", "jay z", "kanye", "kanye west", "adele",
    "drake", "redfoo", "sky blu", "lmfao", "obama", "madonna", "selena gomez", "one direction",
    "jesus", "god", "chris brown", "bruno mars", "snoop dogg", "pitbull", "britney spears",
]
PERSON_PATTERNS = [
    {"label": "PERSON", "pattern": [{"LOWER": part} for part in name.split()]} for name in _PEOPLE
]


@spacy.registry.misc("youtube.person_patterns.v1")
def person_patterns():
    """The entity_ruler patterns (config: ``[initialize.components.entity_ruler]
    patterns = {"@misc": "youtube.person_patterns.v1"}``)."""
    return PERSON_PATTERNS

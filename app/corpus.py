"""The labelled training corpus beside the knowledge base (knowledge_base/training/).

    entries/<entry-id>.txt          messages answered by that entry
    out_of_scope/<group-id>.txt     messages of an out-of-scope group (intents.yaml `out_of_scope`)
    smalltalk/<kind>.txt            greetings, thanks, goodbyes, acknowledgements (greeting, thanks, bye, ack)
    handoff.txt                     requests for a person

One message a line; blank lines and lines starting with '#' are skipped. The corpus trains the
semantic model (scripts/train_semantic.py) and is part of its fingerprint; it is never shown to
citizens or staff, and it is written by other authors than the validation sets (docs/evaluation.md).
"""

from __future__ import annotations

from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parent.parent / "knowledge_base" / "training"
HANDOFF_LABEL = "@handoff"
SMALLTALK_PREFIX = "@smalltalk-"
SMALLTALK_KINDS = ("greeting", "thanks", "bye", "ack")


def read_lines(path: Path) -> list[str]:
    """The messages of one corpus file (UTF-8), in file order."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def read_corpus(folder: Path | None = None) -> dict[str, list[str]]:
    """{label: [message, ...]} with the engine's labels: an entry id, '@<out-of-scope group id>',
    '@smalltalk-<kind>' or '@handoff'. An absent folder is an empty corpus."""
    folder = TRAINING_DIR if folder is None else Path(folder)
    corpus: dict[str, list[str]] = {}
    if not folder.is_dir():
        return corpus
    for path in sorted((folder / "entries").glob("*.txt")):
        corpus[path.stem] = read_lines(path)
    for path in sorted((folder / "out_of_scope").glob("*.txt")):
        corpus["@" + path.stem] = read_lines(path)
    for path in sorted((folder / "smalltalk").glob("*.txt")):
        corpus[SMALLTALK_PREFIX + path.stem] = read_lines(path)
    if (folder / "handoff.txt").is_file():
        corpus[HANDOFF_LABEL] = read_lines(folder / "handoff.txt")
    return {label: texts for label, texts in corpus.items() if texts}


def chat_examples(folder: Path | None = None) -> dict[str, list[str]]:
    """The corpus's small talk and requests for a person, which the engine also indexes beside the knowledge
    base's own texts (short messages, decided by their nearest example; docs/evaluation.md, "Corpus in the
    index"). The entries' and out-of-scope messages train the model only."""
    return {label: texts for label, texts in read_corpus(folder).items()
            if label.startswith(SMALLTALK_PREFIX) or label == HANDOFF_LABEL}


def default_corpus_dir(kb_dir: Path | None) -> Path:
    """The corpus of a knowledge-base directory: its own training/ folder when it has one (a
    checkout), else the shipped one (an export of the database's knowledge base has none)."""
    if kb_dir is not None and (Path(kb_dir) / "training").is_dir():
        return Path(kb_dir) / "training"
    return TRAINING_DIR

"""Token-window chunking measured in tiktoken tokens (cl100k_base), split at paragraph/sentence edges."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from tutor.tokens import count_tokens, seed_cache

# Bump when what goes into a chunk changes (not just its size): the manifest records it, so an index
# built by older code is reported stale and rebuilt instead of silently mixing two schemes.
# 2: a card's question chunk also carries its key points' synonyms.
# 3: ... and the card's aliases (acronyms and other names).
SCHEME = 3


# Chunks that phrase a card's question rather than cut its answer: embedded and searched as they are.
PHRASING_KINDS = ("question", "scenario")


@dataclass(frozen=True)
class Chunk:
    id: str
    source: str
    card_id: str | None
    title: str
    section: str
    text: str
    token_count: int
    # "answer" (card body), "question" (card question + phrasings), "scenario" (one of a card's symptom /
    # "what happens if" phrasings), "document"
    kind: str

    def to_dict(self) -> dict:
        return asdict(self)

    def embed_text(self) -> str:
        """What the embedder and BM25 see: the title anchors a window cut from the middle of a text."""
        return self.text if self.kind in PHRASING_KINDS else f"{self.title}\n{self.text}"


@lru_cache(maxsize=4)
def _splitter(encoding: str, tokens: int, overlap: int):
    seed_cache(encoding)
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # LangChain defaults to gpt2 tokens; the encoding is passed explicitly.
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=encoding,
        chunk_size=tokens,
        chunk_overlap=overlap,
        separators=["\n\n", "\n", ". ", " ", ""],
        # A sentence's ". " stays with that sentence; the default would start the next window with ". ".
        keep_separator="end",
        disallowed_special=(),
    )


def split_text(text: str, encoding: str = "cl100k_base", tokens: int = 180, overlap: int = 30) -> list[str]:
    return [t.strip() for t in _splitter(encoding, tokens, overlap).split_text(text) if t.strip()]


def make_chunks(
    source: str,
    title: str,
    section: str,
    text: str,
    card_id: str | None = None,
    kind: str = "document",
    encoding: str = "cl100k_base",
    tokens: int = 180,
    overlap: int = 30,
    start: int = 0,
) -> list[Chunk]:
    prefix = card_id or source
    return [
        Chunk(f"{prefix}#{start + i}", source, card_id, title or first_sentence(piece), section, piece,
              count_tokens(piece, encoding), kind)
        for i, piece in enumerate(split_text(text, encoding, tokens, overlap))
    ]


def first_sentence(text: str, limit: int = 90) -> str:
    """A readable label for a window of a document that has no headings."""
    flat = " ".join(text.split())
    end = min((i for i in (flat.find(". "), flat.find("? ")) if i > 0), default=len(flat))
    label = flat[: end + 1] if end < len(flat) else flat
    return label if len(label) <= limit else label[: limit - 1].rsplit(" ", 1)[0] + "…"

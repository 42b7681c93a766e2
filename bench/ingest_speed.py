"""Ingest throughput: how long `tutor ingest` takes on the curated corpus, phase by phase.

Builds a throwaway index of corpus/cards (plus the seed article with --with-article) and prints the
embedder load, chunking, the full build (chunk + embed + write) and a no-op re-run (hash check only,
what every `make run` pays). Prints figures, never passes or fails.

    python bench/ingest_speed.py [--with-article]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.config import REPO_ROOT, SEED_ARTICLE, Config  # noqa: E402
from tutor.errors import TutorError  # noqa: E402
from tutor.evaluate import machine_info  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-article", action="store_true", help="also ingest ../shared/seed/article.txt")
    args = parser.parse_args(argv)

    from tutor.embed import MiniLMEmbedder
    from tutor.ingest import chunk_source, expand, ingest

    sources = [REPO_ROOT / "corpus" / "cards"]
    if args.with_article and SEED_ARTICLE.is_file():
        sources.append(SEED_ARTICLE)
    m = machine_info()
    print(f"ingest_speed — {m['cores']} cores, {m['cpu']}")
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(index_dir=Path(tmp) / "index", sources=tuple(sources))
        t0 = time.perf_counter()
        try:
            embedder = MiniLMEmbedder()
        except TutorError as exc:
            print(f"  {exc}")
            return 2
        load_s = time.perf_counter() - t0

        files = expand(list(sources))
        t0 = time.perf_counter()
        chunks = [c for f in files for c in chunk_source(f, config)[0]]
        chunk_s = time.perf_counter() - t0
        words = sum(len(c.text.split()) for c in chunks)

        t0 = time.perf_counter()
        report = ingest(config, lambda: embedder, MiniLMEmbedder.name, progress=False)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ingest(config, lambda: embedder, MiniLMEmbedder.name, progress=False)
        noop_s = time.perf_counter() - t0

    embed_s = max(build_s - chunk_s, 1e-9)
    print(f"  sources          {len(files)} files, {report.n_chunks} chunks, {words} words")
    print(f"  embedder load    {load_s:6.2f} s  (torch + sentence-transformers imports and the model)")
    print(f"  chunking         {chunk_s:6.2f} s  ({len(chunks) / chunk_s:6.1f} chunks/s)")
    print(f"  full build       {build_s:6.2f} s  ({report.n_chunks / build_s:6.1f} chunks/s, "
          f"{len(files) / build_s:.1f} files/s: chunk + embed + write)")
    print(f"  of which embed   {embed_s:6.2f} s  ({report.n_chunks / embed_s:6.1f} chunks/s, derived)")
    print(f"  no-op re-ingest  {noop_s:6.2f} s  (content hashes only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

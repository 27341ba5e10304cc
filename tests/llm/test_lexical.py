"""The offline lexical embedder: deterministic, normalised, named, and lexical in its notion of close."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from llm import Embedder, LexicalEmbedder, _lexical


def test_shape_dtype_norm_and_name() -> None:
    embedder = LexicalEmbedder(128)
    vectors = embedder.vectors(["one text", "another text", "a third one"])
    assert vectors.shape == (3, 128)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert embedder.name == "lexical-v1:128"
    assert LexicalEmbedder(64, char_ngrams=()).name == "lexical-v1-words:64"
    assert LexicalEmbedder(64, char_ngrams=(2, 3)).name == "lexical-v1-23:64"


async def test_it_is_an_embedder_whose_vectors_carry_its_name() -> None:
    embedder: Embedder = LexicalEmbedder()
    result = await embedder.embed(["hello world"])
    assert result.embedder == "lexical-v1:384"
    assert result.dim == 384 and len(result) == 1


def test_shared_words_and_word_pieces_are_closer() -> None:
    vectors = LexicalEmbedder().vectors(
        [
            "the user asked about the weather",
            "a question about the weather today",
            "compiling the kernel failed",
            "weathering storms",  # shares only pieces of a word
        ]
    )
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    assert sims[3, 1] > sims[3, 2]


def test_unicode_words_count() -> None:
    vectors = LexicalEmbedder().vectors(["Привет, как дела?", "как дела у тебя", "the weather"])
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]


def test_case_and_punctuation_do_not_matter_and_empty_text_is_zero() -> None:
    vectors = LexicalEmbedder().vectors(["Hello, World!", "hello world", "", "?!"])
    assert np.allclose(vectors[0], vectors[1])
    assert not vectors[2].any() and not vectors[3].any()
    assert LexicalEmbedder().vectors([]).shape == (0, 384)


def test_the_same_text_gives_the_same_vector_in_another_process() -> None:
    # Python's str hash is salted per process; the embedder must not depend on it.
    code = "from llm import LexicalEmbedder; print(LexicalEmbedder(32).vectors(['stable text']).tolist())"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(outputs) == 1
    assert np.allclose(np.asarray(json.loads(outputs.pop())[0]), LexicalEmbedder(32).vectors(["stable text"])[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"dim": 4}, "dim"), ({"char_ngrams": (0,)}, "char_ngrams"), ({"char_weight": 0.0}, "char_weight")],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LexicalEmbedder(**kwargs)  # type: ignore[arg-type]


def test_the_words_an_embedder_keeps_change_no_vector_even_once_it_forgets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["the cat sat on the mat", "a dog ran in the park", "the cat and the dog", "é ünïcode wörds"]
    fresh = [LexicalEmbedder().vectors([t]) for t in texts]
    monkeypatch.setattr(_lexical, "_WORDS_KEPT", 3)  # forgets every few words
    embedder = LexicalEmbedder()
    for _ in range(3):
        for text, expected in zip(texts, fresh, strict=True):
            assert np.array_equal(embedder.vectors([text]), expected)
    together = embedder.vectors(texts)  # several rows: the same vectors as one at a time
    assert np.array_equal(together, np.vstack(fresh))


def test_the_words_kept_stay_bounded_however_many_distinct_words_come() -> None:
    embedder = LexicalEmbedder(64)
    for start in range(0, _lexical._WORDS_KEPT + 5_000, 1_000):
        embedder.vectors([" ".join(f"w{i}" for i in range(start, start + 1_000))])
        assert embedder.words_held() <= _lexical._WORDS_KEPT
    text = "w1 w2 the river"
    assert np.array_equal(embedder.vectors([text]), LexicalEmbedder(64).vectors([text]))


def test_kept_words_share_their_slot_and_weight_objects() -> None:
    # one object per slot and per signed weight, not one per kept word: what keeps a word small
    embedder = LexicalEmbedder()
    embedder.vectors(["riverbank riverside rivers reverie"])
    slots = {id(s) for features in embedder._words.values() for s in features[0]}
    weights = {id(w) for features in embedder._words.values() for w in features[1]}
    assert len(weights) <= 4
    assert len(slots) == len({s for features in embedder._words.values() for s in features[0]})

"""A repeated identical request is answered from the bounded result cache, with the very files of the first answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from demos import result_cache
from demos.cnn import explain_image
from hub_models.examples import example_photo_paths

pytestmark = pytest.mark.usefixtures("mobilenet")


@pytest.fixture(autouse=True)
def empty_cache():
    result_cache.clear()
    yield
    result_cache.clear()


@pytest.fixture(scope="module")
def photo() -> str:
    return str(example_photo_paths()["chelsea"])


def run(photo: str, params: str = '{"nb_samples": 16, "seed": 1}') -> tuple:
    return explain_image(photo, "", "RISE", "", params)


def seconds_recorded(outputs: tuple) -> float:
    return json.loads(Path(outputs[2]).read_text())["timing"]["seconds"]


def test_the_same_request_gets_the_first_answer_and_another_seed_a_new_one(photo):
    first = run(photo)
    assert run(photo) is first
    other = run(photo, '{"nb_samples": 16, "seed": 2}')
    assert other[1] != first[1] and seconds_recorded(other) != seconds_recorded(first)
    assert result_cache.cached_count() == 2


def test_an_upload_is_known_by_its_content_not_its_path(photo, tmp_path):
    first = run(photo)
    copy = tmp_path / "same-cat.png"
    shutil.copyfile(photo, copy)
    assert run(str(copy)) is first
    copy.write_bytes(Path(photo).read_bytes()[:-1] + b"\0")  # one byte changed: another upload
    assert run(str(copy)) is not first


def test_an_answer_whose_files_were_cleaned_up_is_computed_again(photo):
    first = run(photo)
    shutil.rmtree(Path(first[1]).parent)
    again = run(photo)
    assert again is not first and Path(again[1]).is_file()


def test_the_cache_is_bounded_least_recently_used_first(photo, monkeypatch):
    monkeypatch.setenv("XAI_RESULT_CACHE_SIZE", "2")
    answers = [run(photo, json.dumps({"nb_samples": 16, "seed": seed})) for seed in (1, 2, 3)]
    assert result_cache.cached_count() == 2
    assert run(photo, '{"nb_samples": 16, "seed": 3}') is answers[2]
    assert run(photo, '{"nb_samples": 16, "seed": 1}') is not answers[0], "the oldest answer was dropped"


def test_size_zero_turns_the_cache_off(photo, monkeypatch):
    monkeypatch.setenv("XAI_RESULT_CACHE_SIZE", "0")
    assert run(photo) is not run(photo)
    assert result_cache.cached_count() == 0


def test_a_failed_request_is_not_cached(photo):
    from gradio import Error

    for _ in range(2):
        with pytest.raises(Error, match="no parameter 'masks'"):
            run(photo, '{"masks": 3}')
    assert result_cache.cached_count() == 0

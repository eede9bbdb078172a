"""The /v1 API through the official openai client, pointed at a real server on 127.0.0.1."""
from __future__ import annotations

import openai
import pytest
from openai import OpenAI

from tests.web.conftest import FAKE_QUOTE, FAKE_TEXT, FakePipeline, RaisingPipeline

FOOTNOTE = f'\n\n[1] Sutong Bridge opens (2008-06-30) — bridges.txt: "{FAKE_QUOTE}"'


def client(url: str, key: str = "unused") -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def test_models(api_server) -> None:
    assert [m.id for m in client(api_server()).models.list()] == ["newsbot-extractive"]


def test_completion_has_footnotes_and_citations(api_server) -> None:
    completion = client(api_server()).chat.completions.create(
        model="newsbot-extractive", messages=[{"role": "user", "content": "When did the bridge open?"}],
    )
    assert completion.choices[0].message.content == FAKE_TEXT + FOOTNOTE
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "newsbot-extractive"
    citations = completion.model_extra["citations"]
    assert citations[0]["quote"] == FAKE_QUOTE and citations[0]["n"] == 1
    assert completion.model_extra["abstained"] is False and completion.model_extra["small_talk"] is False


def test_streaming_completion(api_server) -> None:
    stream = client(api_server()).chat.completions.create(
        model="anything", stream=True, messages=[{"role": "user", "content": "When did the bridge open?"}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == FAKE_TEXT + FOOTNOTE
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["title"] == "Sutong Bridge opens"
    assert last.model_extra["abstained"] is False and last.model_extra["small_talk"] is False
    assert len({c.id for c in chunks}) == 1


def test_messages_become_question_and_history(api_server, fake_pipeline: FakePipeline) -> None:
    client(api_server()).chat.completions.create(model="m", messages=[
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "When did the bridge open?"},
        {"role": "assistant", "content": FAKE_TEXT + FOOTNOTE},
        {"role": "user", "content": [{"type": "text", "text": "How long is it?"}]},
    ])
    call = fake_pipeline.calls[0]
    assert call["question"] == "How long is it?"
    assert call["history"] == [{"role": "user", "content": "When did the bridge open?"},
                               {"role": "assistant", "content": FAKE_TEXT}]


def test_errors_reach_the_client_as_messages(api_server) -> None:
    with pytest.raises(openai.BadRequestError, match="role 'user'"):
        client(api_server()).chat.completions.create(model="m", messages=[{"role": "system", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError, match="limit is 2000"):
        client(api_server()).chat.completions.create(model="m", messages=[{"role": "user", "content": "x" * 2001}])


def test_keys_with_the_openai_client(api_server) -> None:
    url = api_server(api_keys=("sk-right",))
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        client(url, "sk-wrong").chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    completion = client(url, "sk-right").chat.completions.create(
        model="m", messages=[{"role": "user", "content": "q"}])
    assert completion.choices[0].message.content.startswith(FAKE_TEXT)


def test_failures_carry_no_stack_trace(api_server) -> None:
    url = api_server(pipeline=RaisingPipeline())
    with pytest.raises(openai.InternalServerError) as caught:
        client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    assert caught.value.body["message"] == "Internal error; see the server log."
    assert "secret" not in str(caught.value.response.text)
    stream = client(url).chat.completions.create(model="m", stream=True,
                                                 messages=[{"role": "user", "content": "q"}])
    with pytest.raises(openai.APIError, match="Internal error; see the server log.") as streamed:
        list(stream)
    assert "secret" not in str(streamed.value.body)

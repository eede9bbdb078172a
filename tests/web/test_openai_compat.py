"""The /v1 API through the official openai client, pointed at a real server on 127.0.0.1."""
from __future__ import annotations

import httpx
import openai
import pytest
from openai import OpenAI

from tests.web.fake_pipeline import (
    NO_MATCH_SOURCE,
    NO_MATCH_TEXT,
    SUTONG_QUOTE,
    SUTONG_SOURCE,
    SUTONG_TEXT,
    SUTONG_TITLE,
    FakePipeline,
)

SUTONG = "When did the Sutong Bridge open?"
FOOTNOTE = f'\n\n[1] {SUTONG_TITLE} (2024-05-14) — {SUTONG_SOURCE}: "{SUTONG_QUOTE}"'


def client(url: str, key: str = "unused") -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=30)


def test_models(api_server) -> None:
    models = client(api_server()).models
    assert [m.id for m in models.list()] == ["newsbot", "newsbot-extractive"]
    for name in ("newsbot", "newsbot-extractive"):
        model = models.retrieve(name)
        assert (model.id, model.object, model.owned_by) == (name, "model", "newsbot")
        assert isinstance(model.created, int)


def test_an_unknown_model_is_not_found_in_openais_shape(api_server) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client(api_server()).models.retrieve("gpt-4o")
    assert caught.value.code == "model_not_found" and caught.value.param == "model"
    assert caught.value.body["type"] == "invalid_request_error"
    assert caught.value.body["message"] == ("The model 'gpt-4o' does not exist; this server offers 'newsbot' and "
                                            "'newsbot-extractive'.")


def test_the_readme_example_works(api_server) -> None:
    reply = client(api_server()).chat.completions.create(
        model="newsbot", messages=[{"role": "user", "content": "When did the Sutong Bridge open?"}])
    assert reply.choices[0].message.content.startswith(SUTONG_TEXT)
    assert reply.model == "newsbot-extractive"  # the full id, as OpenAI names the version that answered


@pytest.mark.parametrize("content", ['"Sutong \\ud800"', '[{"type": "text", "text": "Sutong \\ud800"}]'])
def test_half_a_character_pair_is_refused_with_a_message(api_server, fake_pipeline: FakePipeline,
                                                         content: str) -> None:
    url = api_server()
    for stream in ("false", "true"):
        body = f'{{"model": "m", "stream": {stream}, "messages": [{{"role": "user", "content": {content}}}]}}'
        response = httpx.post(f"{url}/v1/chat/completions", content=body.encode(),
                              headers={"content-type": "application/json"})
        assert response.status_code == 422
        message = response.json()["error"]["message"]
        assert message == ("Invalid request: messages.0.content: not valid text: it holds half of a UTF-16 character "
                           "pair (\\ud800, character 8).")
    assert fake_pipeline.calls == []


def test_completion_has_footnotes_and_citations(api_server) -> None:
    completion = client(api_server()).chat.completions.create(
        model="newsbot-extractive", messages=[{"role": "user", "content": SUTONG}],
    )
    assert completion.choices[0].message.content == SUTONG_TEXT + FOOTNOTE
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "newsbot-extractive"
    citations = completion.model_extra["citations"]
    assert citations[0]["quote"] == SUTONG_QUOTE and citations[0]["n"] == 1
    assert completion.model_extra["abstained"] is False and completion.model_extra["small_talk"] is False


def test_streaming_completion(api_server) -> None:
    stream = client(api_server()).chat.completions.create(
        model="anything", stream=True, messages=[{"role": "user", "content": SUTONG}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == SUTONG_TEXT + FOOTNOTE
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["title"] == SUTONG_TITLE
    assert last.model_extra["abstained"] is False and last.model_extra["small_talk"] is False
    assert len({c.id for c in chunks}) == 1


def test_messages_become_question_and_history(api_server, fake_pipeline: FakePipeline) -> None:
    client(api_server()).chat.completions.create(model="m", messages=[
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": SUTONG},
        {"role": "assistant", "content": SUTONG_TEXT + FOOTNOTE},
        {"role": "user", "content": [{"type": "text", "text": "How long is it?"}]},
    ])
    call = fake_pipeline.calls[0]
    assert call["question"] == "How long is it?"
    assert call["history"] == [{"role": "user", "content": SUTONG},
                               {"role": "assistant", "content": SUTONG_TEXT}]


def test_errors_reach_the_client_as_messages(api_server) -> None:
    with pytest.raises(openai.BadRequestError, match="role 'user'"):
        client(api_server()).chat.completions.create(model="m", messages=[{"role": "system", "content": "x"}])
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with pytest.raises(openai.BadRequestError, match=r"no text part \(only image_url\); this model reads text only"):
        client(api_server()).chat.completions.create(model="m", messages=[{"role": "user", "content": [image]}])
    with pytest.raises(openai.UnprocessableEntityError, match="limit is 2000"):
        client(api_server()).chat.completions.create(model="m", messages=[{"role": "user", "content": "x" * 2001}])


def test_keys_with_the_openai_client(api_server) -> None:
    url = api_server(api_keys=("sk-right",))
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        client(url, "sk-wrong").chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    completion = client(url, "sk-right").chat.completions.create(
        model="m", messages=[{"role": "user", "content": SUTONG}])
    assert completion.choices[0].message.content.startswith(SUTONG_TEXT)


def test_failures_carry_no_stack_trace(api_server) -> None:
    url = api_server()
    with pytest.raises(openai.InternalServerError) as caught:  # the fake fails on "boom"
        client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "boom"}])
    assert caught.value.body["message"] == "Internal error; see the server log."
    assert "secret" not in str(caught.value.response.text)
    stream = client(url).chat.completions.create(model="m", stream=True,
                                                 messages=[{"role": "user", "content": "boom"}])
    with pytest.raises(openai.APIError, match="Internal error; see the server log.") as streamed:
        list(stream)
    assert "secret" not in str(streamed.value.body)


def test_filters_no_article_passes_are_flagged(api_server) -> None:
    messages = [{"role": "user", "content": SUTONG}]
    extra = {"filters": {"source": NO_MATCH_SOURCE}}
    completion = client(api_server()).chat.completions.create(model="m", messages=messages, extra_body=extra)
    assert completion.choices[0].message.content == NO_MATCH_TEXT
    chunks = list(client(api_server()).chat.completions.create(model="m", messages=messages, extra_body=extra,
                                                               stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == NO_MATCH_TEXT
    for extras in (completion.model_extra, chunks[-1].model_extra):
        assert (extras["no_filter_match"], extras["abstained"], extras["citations"]) == (True, True, [])
